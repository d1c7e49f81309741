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
                        me.await.ok().flatten().filter(|m| m.role == "admin").map(|_| view! {
                            <A href="/users" attr:class="nav-link">"Users"</A>
                        })
                    })}
                </Transition>
                <div class="ml-auto flex items-center gap-3 text-sm">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            me.await.ok().flatten().map(|m| view! {
                                <span class="text-slate-600 dark:text-slate-300" data-testid="me">{m.email}</span>
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
