//! The page frame: header, navigation with the current page marked, the signed-in user.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{Logout, get_me};

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    let logout = ServerAction::<Logout>::new();
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:p-2">"Skip to content"</a>
        <header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <nav class="mx-auto flex max-w-6xl items-center gap-6 px-4 py-3" aria-label="Main">
                <a href="/datasources" class="flex items-center gap-2 text-lg font-semibold text-sky-700 dark:text-sky-400">
                    <img src="/favicon.svg" alt="" class="h-6 w-6" />
                    "Tributary"
                </a>
                <A href="/datasources" exact=true attr:class="nav-link">"Datasources"</A>
                <A href="/datasources/new" attr:class="nav-link">"New datasource"</A>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().flatten().map(|m| {
                            let count = m.invitations;
                            let label = if count == 0 { "Invitations".to_owned() } else { format!("Invitations, {count} pending") };
                            // Follows live updates: an invitation arriving or going changes the
                            // count. `data-user` tells the page's script who is signed in.
                            view! {
                                <span id="nav-me" class="contents" data-live="nav" data-user=m.id.clone()>
                                    <A href="/invitations" attr:class="nav-link" attr:aria-label=label>
                                        "Invitations"
                                        {(count > 0).then(|| view! {
                                            <span class="ml-1 rounded-full bg-sky-600 px-2 py-0.5 text-xs font-semibold text-white" data-testid="invitation-count">{count}</span>
                                        })}
                                    </A>
                                    {(m.role == "admin").then(|| view! { <A href="/users" attr:class="nav-link">"Users"</A> })}
                                </span>
                            }
                        })
                    })}
                </Transition>
                <form method="get" action="/search" role="search" class="ml-auto" aria-label="Site search">
                    <label for="nav-search" class="sr-only">"Search everything"</label>
                    <input id="nav-search" name="q" type="search" class="input w-48 py-1 text-sm" placeholder="Search…" />
                </form>
                <div class="flex items-center gap-3 text-sm">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            me.await.ok().flatten().map(|m| view! {
                                <A href="/account" attr:class="nav-link" attr:title="Your account">
                                    <span data-testid="me">{m.email}</span>
                                </A>
                            })
                        })}
                    </Transition>
                    <ActionForm action=logout>
                        <button type="submit" class="btn-secondary">"Log out"</button>
                    </ActionForm>
                </div>
            </nav>
        </header>
        <main id="main" class="mx-auto max-w-6xl px-4 py-8">{children()}</main>
    }
}
