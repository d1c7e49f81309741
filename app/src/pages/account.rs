//! `/account`: who I am, my password, and personal API tokens for scripts.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{ChangePassword, CreateToken, RevokeToken, get_me, list_tokens};
use crate::components::confirm::ConfirmButton;
use crate::components::notice::{ErrorNotice, field_error, form_error};
use crate::flash::flashed_from;

#[component]
pub fn Account() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Title text="Account" />
        <h1 class="mb-6 text-2xl font-semibold">"Account"</h1>
        <Transition fallback=|| view! { <div class="skeleton h-16" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                me.await.ok().flatten().map(|m| view! {
                    <dl class="card mb-8 max-w-2xl divide-y divide-slate-100 dark:divide-slate-800">
                        <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">"E-mail"</dt><dd class="sm:col-span-2" data-testid="account-email">{m.email}</dd></div>
                        <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">"Name"</dt><dd class="sm:col-span-2">{m.display_name}</dd></div>
                        <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">"Account role"</dt><dd class="sm:col-span-2">{m.role}</dd></div>
                    </dl>
                })
            })}
        </Transition>
        <Tokens />
        <PasswordForm />
    }
}

/// A token just made, with its secret, shown this once.
#[component]
pub fn NewTokenNotice(t: crate::types::NewToken) -> impl IntoView {
    view! {
        <div role="status" class="mb-4 rounded-md border border-green-300 bg-green-50 p-4 dark:border-green-800 dark:bg-green-950" data-testid="new-token">
            <p class="mb-2">{format!("Token '{}' created. Copy it now; it will not be shown again:", t.token.name)}</p>
            <code class="block break-all rounded bg-white p-2 dark:bg-slate-900" data-testid="new-token-secret">{t.secret}</code>
        </div>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(|| (), |_| list_tokens());
    let made = create.value();
    // A token just made: its secret came back with the page, this once.
    let new_token = flashed_from::<CreateToken>().and_then(|f| f.token);
    view! {
        <section class="mb-8 max-w-3xl" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading" class="mb-2 text-lg font-semibold">"Personal API tokens"</h2>
            <p class="hint mb-4">
                "For scripts: send " <code>"Authorization: Bearer <token>"</code>
                ". A token acts as you and lasts until you revoke it; its secret is shown only once."
            </p>
            {new_token.map(|t| view! { <NewTokenNotice t /> })}
            {form_error(revoke.value(), &[])}
            <Transition fallback=|| view! { <div class="skeleton h-16" aria-busy="true">"Loading tokens…"</div> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="mb-4 text-slate-600 dark:text-slate-400" data-testid="no-tokens">"You have no personal tokens."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <div class="mb-4 overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                                <table class="table">
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|t| {
                                            let revoke_label = format!("Revoke {}", t.name);
                                            let revoke_message = format!("Scripts using “{}” stop working at once. This cannot be undone.", t.name);
                                            view! {
                                            <tr data-testid="token-row" data-name=t.name.clone()>
                                                <td class="font-medium">{t.name.clone()}</td>
                                                <td>{t.created_at.clone()}</td>
                                                <td>
                                                    <ActionForm action=revoke>
                                                        <input type="hidden" name="token_id" value=t.id.clone() />
                                                        <ConfirmButton
                                                            label="Revoke"
                                                            aria_label=revoke_label
                                                            title="Revoke this token?"
                                                            message=revoke_message
                                                            confirm="Revoke token"
                                                        />
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=create attr:class="card flex flex-wrap items-end gap-3" attr:aria-label="Create a token">
                <div class="min-w-0 flex-1">
                    <label for="token-name" class="label">"Token name"</label>
                    <input id="token-name" name="name" class="input" required maxlength="100" autocomplete="off" placeholder="nightly export" />
                    {field_error(made, "name")}
                </div>
                <button type="submit" class="btn-primary" data-pending-label="Creating…">"Create token"</button>
                {form_error(made, &["name"])}
            </ActionForm>
        </section>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let value = change.value();
    view! {
        <ActionForm action=change attr:class="card max-w-2xl space-y-4" attr:aria-label="Change password">
            <h2 class="text-lg font-semibold">"Change password"</h2>
            <p class="hint">"Your other sessions and login tokens end; this session and your personal tokens stay."</p>
            <div>
                <label for="current_password" class="label">"Current password"</label>
                <input id="current_password" name="current_password" type="password" class="input" required autocomplete="current-password" />
                {field_error(value, "current_password")}
            </div>
            <div>
                <label for="new_password" class="label">"New password"</label>
                <input id="new_password" name="new_password" type="password" class="input" required minlength="8" autocomplete="new-password" />
                {field_error(value, "new_password")}
            </div>
            <div>
                <label for="confirm_password" class="label">"New password again"</label>
                <input id="confirm_password" name="confirm_password" type="password" class="input" required minlength="8" autocomplete="new-password" />
                {field_error(value, "confirm_password")}
            </div>
            {form_error(value, &["current_password", "new_password", "confirm_password"])}
            {flashed_from::<ChangePassword>().map(|_| view! {
                <p role="status" class="text-green-700 dark:text-green-400" data-testid="password-changed">"Password changed."</p>
            })}
            <button type="submit" class="btn-primary" data-pending-label="Changing…">"Change password"</button>
        </ActionForm>
    }
}
