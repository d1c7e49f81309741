//! `/invitations`: datasources others have shared with me, waiting for Accept or Decline.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{AcceptInvitation, DeclineInvitation, my_invitations};
use crate::components::confirm::ConfirmButton;
use crate::components::notice::{ErrorNotice, form_error};

#[component]
pub fn Invitations() -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let decline = ServerAction::<DeclineInvitation>::new();
    let list = Resource::new(|| (), |_| my_invitations());
    view! {
        <Title text="Invitations" />
        <h1 class="mb-6 text-2xl font-semibold">"Invitations"</h1>
        {form_error(accept.value(), &[])}
        {form_error(decline.value(), &[])}
        // Follows live updates: an invitation arriving, revoked or answered elsewhere.
        <div id="my-invitations" data-live="nav">
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Loading invitations…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(items) if items.is_empty() => view! {
                        <section class="card text-center" data-testid="no-invitations">
                            <h2 class="font-semibold">"No invitations"</h2>
                            <p class="mt-1 text-slate-600 dark:text-slate-300">
                                "When someone shares a datasource with you, it appears here and in your "
                                <a class="link" href="/datasources">"datasources"</a>" as invited."
                            </p>
                        </section>
                    }.into_any(),
                    Ok(items) => view! {
                        <ul class="space-y-3">
                            {items.into_iter().map(|i| {
                                let (a, d) = (i.id.clone(), i.id.clone());
                                let decline_label = format!("Decline {}", i.datasource_title);
                                let decline_message = format!("“{}” leaves your invitations. {} would have to invite you again.", i.datasource_title, i.inviter);
                                view! {
                                    <li class="card flex flex-wrap items-center gap-4" data-testid="my-invitation" data-title=i.datasource_title.clone()>
                                        <div class="min-w-0 flex-1">
                                            <p class="font-medium">
                                                <a class="link" href=format!("/datasources/{}", i.datasource_id)>{i.datasource_title.clone()}</a>
                                                <span class="ml-2 text-sm text-slate-600 dark:text-slate-400">{i.kind_label.clone()}</span>
                                            </p>
                                            <p class="text-sm text-slate-600 dark:text-slate-300">
                                                {format!("{} invited you as {} · {}", i.inviter, i.role, i.created_at)}
                                            </p>
                                        </div>
                                        <ActionForm action=accept>
                                            <input type="hidden" name="invitation_id" value=a />
                                            <button type="submit" class="btn-primary">"Accept"</button>
                                        </ActionForm>
                                        <ActionForm action=decline>
                                            <input type="hidden" name="invitation_id" value=d />
                                            <ConfirmButton
                                                label="Decline"
                                                aria_label=decline_label
                                                title="Decline this invitation?"
                                                message=decline_message
                                                confirm="Decline"
                                            />
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
        </div>
    }
}
