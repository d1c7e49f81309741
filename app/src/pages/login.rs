//! The login form. Works without JavaScript: a plain POST that sets the session cookie and
//! redirects.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::Login as LoginFn;
use crate::components::notice::form_error;

#[component]
pub fn Login() -> impl IntoView {
    let action = ServerAction::<LoginFn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Log in" />
        <main id="main" class="flex min-h-screen items-center justify-center px-4">
            <div class="card w-full max-w-sm">
                <h1 class="mb-1 flex items-center gap-2 text-2xl font-semibold">
                    <img src="/favicon.svg" alt="" class="h-7 w-7" />
                    "Tributary"
                </h1>
                <p class="mb-6 text-sm text-slate-600 dark:text-slate-400">"Log in to manage your datasources."</p>
                <ActionForm action=action attr:class="space-y-4" attr:aria-label="Log in">
                    <input type="hidden" name="next" value=next />
                    <div>
                        <label for="email" class="label">"E-mail"</label>
                        <input id="email" name="email" type="email" autocomplete="username" required class="input" />
                    </div>
                    <div>
                        <label for="password" class="label">"Password"</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" required class="input" />
                    </div>
                    {form_error(action.value(), &[])}
                    <button type="submit" class="btn-primary w-full" data-pending-label="Logging in…">"Log in"</button>
                </ActionForm>
            </div>
        </main>
    }
}
