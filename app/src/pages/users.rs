//! `/users`: account administration for admins — add users, change roles, deactivate.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CreateUser, UpdateUser, list_users};
use crate::components::confirm::ConfirmButton;
use crate::components::notice::{ErrorNotice, field_error, form_error};

#[component]
pub fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let users = Resource::new(|| (), |_| list_users());
    let value = create.value();
    view! {
        <Title text="Users" />
        <h1 class="mb-6 text-2xl font-semibold">"Users"</h1>
        {form_error(update.value(), &[])}
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Loading users…"</div> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(list) => view! {
                        <div class="mb-8 overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                            <table class="table">
                                <thead><tr>
                                    <th scope="col">"E-mail"</th><th scope="col">"Name"</th><th scope="col">"Role"</th>
                                    <th scope="col">"Status"</th><th scope="col">"Created"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| {
                                        let other_role = if u.role == "admin" { "member" } else { "admin" };
                                        let (next_active, toggle_label) = if u.active { ("false", "Deactivate") } else { ("true", "Activate") };
                                        let (id_role, id_active) = (u.id.clone(), u.id.clone());
                                        let role_label = format!("Make {} {other_role}", u.email);
                                        let toggle_aria = format!("{toggle_label} {}", u.email);
                                        let deactivate_message = format!("{} can no longer log in, and their sessions and tokens stop working. You can activate the account again.", u.email);
                                        view! {
                                            <tr data-testid="user-row" data-email=u.email.clone()>
                                                <td class="font-medium">{u.email.clone()}</td>
                                                <td>{u.display_name.clone()}</td>
                                                <td>{u.role.clone()}</td>
                                                <td>{if u.active { view! { <span class="badge badge-green">"active"</span> } } else { view! { <span class="badge badge-slate">"deactivated"</span> } }}</td>
                                                <td>{u.created_at.clone()}</td>
                                                <td class="flex gap-2">
                                                    <ActionForm action=update>
                                                        <input type="hidden" name="id" value=id_role />
                                                        <input type="hidden" name="role" value=other_role />
                                                        <button type="submit" class="btn-secondary" aria-label=role_label>{format!("Make {other_role}")}</button>
                                                    </ActionForm>
                                                    <ActionForm action=update>
                                                        <input type="hidden" name="id" value=id_active />
                                                        <input type="hidden" name="active" value=next_active />
                                                        {if u.active {
                                                            view! {
                                                                <ConfirmButton
                                                                    label=toggle_label
                                                                    aria_label=toggle_aria.clone()
                                                                    title="Deactivate this account?"
                                                                    message=deactivate_message
                                                                    confirm="Deactivate"
                                                                />
                                                            }.into_any()
                                                        } else {
                                                            view! { <button type="submit" class="btn-secondary" aria-label=toggle_aria>{toggle_label}</button> }.into_any()
                                                        }}
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <ActionForm action=create attr:class="card max-w-2xl space-y-4" attr:aria-label="Add user">
            <h2 class="text-lg font-semibold">"Add a user"</h2>
            <div>
                <label for="new-email" class="label">"E-mail"</label>
                <input id="new-email" name="email" type="email" class="input" required autocomplete="off" />
                {field_error(value, "email")}
            </div>
            <div>
                <label for="new-name" class="label">"Display name"</label>
                <input id="new-name" name="display_name" class="input" autocomplete="off" />
            </div>
            <div>
                <label for="new-password" class="label">"Initial password"</label>
                <input id="new-password" name="password" type="password" class="input" required minlength="8" autocomplete="new-password" />
                {field_error(value, "password")}
            </div>
            <div>
                <label for="new-role" class="label">"Role"</label>
                <select id="new-role" name="role" class="input">
                    <option value="member" selected>"Member"</option>
                    <option value="admin">"Administrator"</option>
                </select>
            </div>
            {form_error(value, &["email", "password"])}
            <button type="submit" class="btn-primary" data-pending-label="Adding…">"Add user"</button>
        </ActionForm>
    }
}
