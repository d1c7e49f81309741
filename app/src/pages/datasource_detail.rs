//! `/datasources/:id`: details, an edit form, the collected resources (paged with the scroll
//! cursor), and deletion that must be confirmed by typing the title.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use leptos::server_fn::ServerFn;

use crate::api::{
    AcceptInvitation, DeclineInvitation, DeleteDatasource, Invite, PauseDatasource,
    ReplaceCredentials, ResumeDatasource, RevokeInvitation, SendToProcessing, SetRole, SyncNow,
    UpdateDatasource, get_connectors, get_datasource, get_sharing, list_children, sync_history,
};
use crate::components::badge::StatusBadge;
use crate::components::confirm::ConfirmButton;
use crate::components::notice::{ErrorNotice, field_error, form_error, form_error_except};
use crate::flash::flashed_from;
use crate::pages::datasource_new::{SyncTypeChoice, credential_inputs, settings_inputs};
use crate::pages::search::SearchPanel;
use crate::types::{
    ConnectorView, DatasourceView, MyInvitation, ProgressView, ROLES, SYNC_TYPES, format_bytes,
};

const TABS: &[(&str, &str)] = &[
    ("overview", "Overview"),
    ("resources", "Resources"),
    ("search", "Search"),
    ("activity", "Activity"),
    ("sharing", "Sharing"),
    ("settings", "Edit"),
    ("delete", "Delete"),
];

/// The tabs `d`'s viewer may use: the engine decides, the page only hides what would be
/// refused anyway.
fn tabs_for(d: &DatasourceView) -> Vec<(&'static str, &'static str)> {
    TABS.iter()
        .copied()
        .filter(|(t, _)| match *t {
            "settings" => d.can_configure,
            "delete" => d.can_delete,
            _ => true,
        })
        .collect()
}

#[component]
pub fn DatasourceDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let tab = move || {
        query
            .read()
            .get("tab")
            .filter(|t| TABS.iter().any(|(v, _)| v == t))
            .unwrap_or_else(|| "overview".into())
    };
    // Created here for the errors a refused form comes back with (in the address, for the
    // server function's path): each form shows its own.
    let update = ServerAction::<UpdateDatasource>::new();
    let accept = ServerAction::<AcceptInvitation>::new();
    let sharing = SharingActions::new();
    let ops = Ops {
        sync: ServerAction::<SyncNow>::new(),
        pause: ServerAction::<PauseDatasource>::new(),
        resume: ServerAction::<ResumeDatasource>::new(),
        process: ServerAction::<SendToProcessing>::new(),
    };
    let ds = Resource::new(id, get_datasource);

    view! {
        <Transition fallback=|| view! { <div class="skeleton h-40" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match ds.await {
                    Err(e) => view! { <Title text="Datasource" /><ErrorNotice error=e /> }.into_any(),
                    Ok(DatasourceView { invitation: Some(inv), id, title, kind_label, sync_status, status_reason, .. }) => view! {
                        <Invited inv id title kind_label sync_status reason=status_reason.unwrap_or_default() accept />
                    }.into_any(),
                    Ok(d) => {
                        let tabs = tabs_for(&d);
                        let current = current_tab(&tabs, tab());
                        let body = match current {
                            "resources" => view! { <Resources id=d.id.clone() /> }.into_any(),
                            "search" => view! { <SearchPanel action=format!("/datasources/{}", d.id) datasource=Some(d.id.clone()) /> }.into_any(),
                            "sharing" => view! { <SharingTab d=d.clone() actions=sharing /> }.into_any(),
                            "activity" => view! { <Activity id=d.id.clone() /> }.into_any(),
                            "settings" => view! { <SettingsTab d=d.clone() action=update /> }.into_any(),
                            "delete" => view! { <DeleteForm d=d.clone() /> }.into_any(),
                            _ => view! {
                                <div id="ds-overview" data-live=d.id.clone()><Overview d=d.clone() /></div>
                            }.into_any(),
                        };
                        // What the page offers depends on the viewer's role: when a live update
                        // brings another one (an owner changed it), the page's script swaps in
                        // the whole page instead of the live parts.
                        let standing = format!("{:?}", d.standing());
                        view! {
                            <Title text=d.title.clone() />
                            <div data-live-key=standing>
                                <p class="mb-2 text-sm"><a class="link" href="/datasources">"← Datasources"</a></p>
                                <div id="ds-header" data-live=d.id.clone() data-busy=d.is_busy().then_some("")>
                                    <div class="mb-4 flex flex-wrap items-center gap-3">
                                        <h1 class="text-2xl font-semibold" data-testid="datasource-title">{d.title.clone()}</h1>
                                        <StatusBadge status=d.sync_status.clone() reason=d.status_reason.clone().unwrap_or_default() />
                                        {d.my_role.clone().map(|r| view! { <span class="text-sm text-slate-600 dark:text-slate-400" data-testid="my-role">{format!("Your role: {r}")}</span> })}
                                        {d.can_operate.then(|| view! { <SyncControls d=d.clone() /> })}
                                    </div>
                                    {d.progress.clone().map(|p| view! { <SyncProgress p status=d.sync_status.clone() /> })}
                                </div>
                                {d.can_operate.then(|| view! { <SyncOutcome ops /> })}
                                <nav class="mb-6 flex gap-1 border-b border-slate-200 dark:border-slate-800" aria-label="Datasource sections">
                                    {tabs.into_iter().map(|(v, label)| {
                                        let active = v == current;
                                        view! {
                                            <a
                                                href=format!("/datasources/{}?tab={v}", d.id)
                                                class=if active { "tab tab-active" } else { "tab" }
                                                aria-current=active.then_some("page")
                                            >
                                                {label}
                                            </a>
                                        }
                                    }).collect_view()}
                                </nav>
                                {body}
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The tab asked for in the address when it is one of `tabs` (those the viewer may use), else
/// the overview.
fn current_tab(tabs: &[(&'static str, &'static str)], asked: String) -> &'static str {
    tabs.iter()
        .map(|(v, _)| *v)
        .find(|v| *v == asked)
        .unwrap_or("overview")
}

#[component]
fn Overview(d: DatasourceView) -> impl IntoView {
    let sync = SYNC_TYPES
        .iter()
        .find(|(v, _, _)| *v == d.type_sync)
        .map(|(_, l, e)| format!("{l} — {e}"))
        .unwrap_or_default();
    let row = |k: &'static str, v: String| view! { <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">{k}</dt><dd class="sm:col-span-2" data-field=k>{v}</dd></div> };
    view! {
        <dl class="card divide-y divide-slate-100 dark:divide-slate-800">
            {row("Kind", d.kind_label.clone())}
            {row("Sync type", format!("{} ({sync})", d.type_sync))}
            {row("Status", d.status_reason.clone().map(|r| format!("{} — {r}", d.sync_status)).unwrap_or(d.sync_status.clone()))}
            {d.settings.iter().map(|s| view! {
                <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">{s.label.clone()}</dt><dd class="sm:col-span-2 break-all" data-setting=s.name.clone()><code>{s.value.clone()}</code></dd></div>
            }).collect_view()}
            {row("Resources", d.resource_count.to_string())}
            {row("Size", format_bytes(d.byte_count))}
            <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">"Last synced"</dt><dd class="sm:col-span-2" data-field="Last synced">
                {match (d.last_synced_ago.clone(), d.last_sync_finished_at.clone()) {
                    (Some(rel), Some(abs)) => view! { <time title=abs.clone() datetime=abs>{rel}</time> }.into_any(),
                    _ => "never".into_any(),
                }}
            </dd></div>
            <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">"Next sync due"</dt><dd class="sm:col-span-2" data-field="Next sync due">
                {match (d.next_due_in.clone(), d.next_sync_due_at.clone()) {
                    (Some(rel), Some(abs)) => view! { <time title=abs.clone() datetime=abs>{rel}</time> }.into_any(),
                    _ => "not scheduled".into_any(),
                }}
            </dd></div>
            {row("Created", d.created_at.clone())}
            {row("Modified", d.updated_at.clone())}
        </dl>
    }
}

/// A resource's processing status; a failure's reason on hover and for screen readers.
#[component]
fn ProcessingBadge(status: String, error: Option<String>) -> impl IntoView {
    let class = match status.as_str() {
        "processed" => "badge badge-green",
        "failed" => "badge badge-red",
        "processing" => "badge badge-blue",
        _ => "badge badge-amber",
    };
    let reason = error.clone().unwrap_or_default();
    let label = status.clone();
    view! {
        <span class=class title=reason data-processing=status>
            {label}
            {error.map(|e| view! { <span class="sr-only">{format!(": {e}")}</span> })}
        </span>
    }
}

/// A progress bar with counts for the run under way (or paused). Without an estimate of the
/// total (a first sync) the bar is indeterminate and only the counts move.
#[component]
fn SyncProgress(p: ProgressView, status: String) -> impl IntoView {
    let pct = p.percent();
    let counts = format!(
        "{} looked at{} · {} added · {} updated{}",
        p.seen,
        p.expected
            .map(|e| format!(" of about {e}"))
            .unwrap_or_default(),
        p.added,
        p.updated,
        if p.listed { " · finishing" } else { "" }
    );
    let label = if status == "paused" {
        "Paused at"
    } else {
        "Sync progress"
    };
    view! {
        <div class="mb-4 max-w-2xl" data-testid="sync-progress">
            <div class="mb-1 flex justify-between text-sm text-slate-600 dark:text-slate-300">
                <span>{label}</span>
                <span data-testid="progress-counts">{counts.clone()}</span>
            </div>
            {match pct {
                Some(v) => view! { <progress class="progress" max="100" value=v aria-label=format!("{label}: {v}%, {counts}")>{format!("{v}%")}</progress> }.into_any(),
                None => view! { <progress class="progress" aria-label=format!("{label}: {counts}")></progress> }.into_any(),
            }}
        </div>
    }
}

/// The collected resources, a page at a time. A live region: a sync's new resources appear as it
/// goes.
#[component]
fn Resources(id: String) -> impl IntoView {
    let query = use_query_map();
    let scroll = move || query.read().get("scroll");
    let id = StoredValue::new(id);
    let page = Resource::new(
        move || (id.get_value(), scroll()),
        |(id, s)| list_children(id, Some(20), s),
    );
    view! {
        <div id="ds-resources" data-live=id.get_value()>
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Loading resources…"</div> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(p) if p.total == 0 => view! {
                        <section class="card text-center" data-testid="no-resources">
                            <h2 class="font-semibold">"Nothing collected yet"</h2>
                            <p class="mt-1 text-slate-600 dark:text-slate-300">"Resources appear here once a spyder has synced this datasource."</p>
                        </section>
                    }.into_any(),
                    Ok(p) => {
                        let base = format!("/datasources/{}?tab=resources", id.get_value());
                        let next = p.cursor.clone().map(|c| format!("{base}&scroll={c}"));
                        let first = scroll().is_some().then(|| base.clone());
                        view! {
                            <p class="mb-2 text-sm text-slate-600 dark:text-slate-400" data-testid="children-total">{format!("{} resources", p.total)}</p>
                            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">"Name"</th><th scope="col">"Path"</th><th scope="col">"Type"</th>
                                        <th scope="col" class="text-right">"Size"</th><th scope="col">"Modified at source"</th><th scope="col">"Processing"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|r| view! {
                                            <tr data-testid="resource-row">
                                                <td class="font-medium"><a class="link" href=format!("/datasources/{}/resources/{}", id.get_value(), r.id)>{r.name}</a></td>
                                                <td class="break-all text-slate-600 dark:text-slate-300">{r.path}</td>
                                                <td>{r.media_type.unwrap_or(r.kind)}</td>
                                                <td class="text-right tabular-nums">{format_bytes(r.size)}</td>
                                                <td>{r.source_modified_at.unwrap_or_default()}</td>
                                                <td><ProcessingBadge status=r.processing_status error=r.processing_error /></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="mt-4 flex gap-3" aria-label="Resource pages">
                                {first.map(|h| view! { <a class="btn-secondary" href=h>"First page"</a> })}
                                {next.map(|h| view! { <a class="btn-secondary" href=h>"Next page"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        </div>
    }
}

/// The *Settings* tab: the edit form and the credentials form, from the kind's connector.
#[component]
fn SettingsTab(d: DatasourceView, action: ServerAction<UpdateDatasource>) -> impl IntoView {
    let connectors = Resource::new(|| (), |_| get_connectors(false));
    view! {
        <Transition fallback=|| view! { <div class="skeleton h-40" aria-busy="true">"Loading…"</div> }>
            {move || {
                let d = d.clone();
                Suspend::new(async move {
                    match connectors.await {
                        Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                        Ok(all) => match all.into_iter().find(|c| c.kind == d.kind) {
                            None => view! { <p>"This kind of datasource has no connector on this server."</p> }.into_any(),
                            Some(c) => view! {
                                <EditForm d=d.clone() c=c.clone() action />
                                <CredentialsForm d c />
                            }.into_any(),
                        },
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn EditForm(
    d: DatasourceView,
    c: ConnectorView,
    action: ServerAction<UpdateDatasource>,
) -> impl IntoView {
    let value = action.value();
    let current = d.settings.clone();
    let inputs = settings_inputs(&c, value, move |name| {
        current
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value.clone())
            .unwrap_or_default()
    });
    let saved = flashed_from::<UpdateDatasource>().map(|_| {
        view! { <p role="status" class="text-green-700 dark:text-green-400" data-testid="saved">"Saved."</p> }
    });
    let mut fields = c.form_fields();
    fields.retain(|f| !c.credentials.iter().any(|k| &k.name == f));
    view! {
        <ActionForm action=action attr:class="card max-w-2xl space-y-5" attr:aria-label="Edit datasource">
            <input type="hidden" name="id" value=d.id.clone() />
            <div>
                <label for="title" class="label">"Title"</label>
                <input id="title" name="title" class="input" required maxlength="200" value=d.title.clone() />
                {field_error(value, "title")}
            </div>
            {inputs}
            <SyncTypeChoice c=c.clone() selected=Some(d.type_sync.clone()) />
            {field_error(value, "type_sync")}
            {form_error_except(value, fields)}
            {saved}
            <button type="submit" class="btn-primary" data-pending-label="Saving…">"Save changes"</button>
        </ActionForm>
    }
}

/// Replaces the credentials in the wallet, for kinds that have them (never shows them).
#[component]
fn CredentialsForm(d: DatasourceView, c: ConnectorView) -> impl IntoView {
    let action = ServerAction::<ReplaceCredentials>::new();
    let value = action.value();
    let fields = c.credential_fields();
    credential_inputs(&c, value, true).map(|inputs| view! {
        <ActionForm action=action attr:class="card mt-6 max-w-2xl space-y-4" attr:aria-label="Credentials">
            <h2 class="text-lg font-semibold">"Credentials"</h2>
            <input type="hidden" name="id" value=d.id.clone() />
            {inputs}
            {form_error_except(value, fields)}
            <button type="submit" class="btn-primary" data-pending-label="Saving…">"Save credentials"</button>
        </ActionForm>
    })
}

#[component]
fn DeleteForm(d: DatasourceView) -> impl IntoView {
    let action = ServerAction::<DeleteDatasource>::new();
    let value = action.value();
    view! {
        <ActionForm action=action attr:class="card max-w-2xl space-y-4 border-red-300 dark:border-red-900" attr:aria-label="Delete datasource">
            <h2 class="text-lg font-semibold text-red-700 dark:text-red-400">"Delete this datasource"</h2>
            <p>
                "This removes the datasource and everything collected from it ("
                // Follows live updates while a sync adds to it.
                <span id="delete-count" data-live=d.id.clone() data-testid="delete-count">{d.resource_count}</span>
                " resources). The source itself is not touched. To confirm, type "
                <strong>{d.title.clone()}</strong>" below."
            </p>
            <input type="hidden" name="id" value=d.id.clone() />
            <div>
                <label for="confirm_title" class="label">"Title of the datasource"</label>
                <input id="confirm_title" name="confirm_title" class="input" autocomplete="off" required />
                {field_error(value, "confirm_title")}
            </div>
            {form_error(value, &["confirm_title"])}
            <button type="submit" class="btn-danger" data-pending-label="Deleting…">"Delete datasource"</button>
        </ActionForm>
    }
}

/// What an invitee sees before accepting: who invited them, as what, and two buttons.
#[component]
fn Invited(
    inv: MyInvitation,
    id: String,
    title: String,
    kind_label: String,
    sync_status: String,
    reason: String,
    accept: ServerAction<AcceptInvitation>,
) -> impl IntoView {
    let decline = ServerAction::<DeclineInvitation>::new();
    let (accept_id, decline_id) = (inv.id.clone(), inv.id.clone());
    view! {
        <Title text=title.clone() />
        <div data-live-key="invited">
        <p class="mb-2 text-sm"><a class="link" href="/datasources">"← Datasources"</a></p>
        <div id="ds-header" data-live=id class="mb-4 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold" data-testid="datasource-title">{title}</h1>
            <StatusBadge status=sync_status reason=reason />
        </div>
        <section class="card max-w-2xl space-y-4" data-testid="invitation">
            <p>
                "You are invited to this " {kind_label} " datasource as "
                <strong>{inv.role.clone()}</strong>
                ". Accept to see what it holds; until then nothing inside it is shown to you."
            </p>
            {form_error(accept.value(), &[])}
            {form_error(decline.value(), &[])}
            <div class="flex gap-3">
                <ActionForm action=accept>
                    <input type="hidden" name="invitation_id" value=accept_id />
                    <button type="submit" class="btn-primary">"Accept"</button>
                </ActionForm>
                <ActionForm action=decline>
                    <input type="hidden" name="invitation_id" value=decline_id />
                    <ConfirmButton
                        label="Decline"
                        title="Decline this invitation?"
                        message="The datasource leaves your list. Whoever invited you would have to invite you again."
                        confirm="Decline"
                    />
                </ActionForm>
            </div>
        </section>
        </div>
    }
}

fn role_options(selected: &str) -> impl IntoView + use<> {
    ROLES
        .iter()
        .map(|(v, label)| view! { <option value=*v selected=*v == selected>{*label}</option> })
        .collect_view()
}

/// Members and roles, the invite form and pending invitations. Owners get the controls;
/// everyone else reads.
#[derive(Clone, Copy)]
struct SharingActions {
    set_role: ServerAction<SetRole>,
    invite: ServerAction<Invite>,
    revoke: ServerAction<RevokeInvitation>,
}

impl SharingActions {
    fn new() -> Self {
        Self {
            set_role: ServerAction::<SetRole>::new(),
            invite: ServerAction::<Invite>::new(),
            revoke: ServerAction::<RevokeInvitation>::new(),
        }
    }
}

#[component]
fn SharingTab(d: DatasourceView, actions: SharingActions) -> impl IntoView {
    let SharingActions {
        set_role,
        invite,
        revoke,
    } = actions;
    let id = StoredValue::new(d.id.clone());
    let can_share = d.can_share;
    let sharing = Resource::new(move || id.get_value(), get_sharing);
    let invited = invite.value();
    view! {
        {form_error(set_role.value(), &[])}
        {form_error(revoke.value(), &[])}
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Loading sharing…"</div> }>
            {move || Suspend::new(async move {
                match sharing.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(s) => view! {
                        <h2 class="mb-2 text-lg font-semibold">"People with access"</h2>
                        <div class="mb-8 overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                            <table class="table" data-testid="members">
                                <thead><tr>
                                    <th scope="col">"E-mail"</th><th scope="col">"Name"</th><th scope="col">"Role"</th>
                                    {can_share.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                                </tr></thead>
                                <tbody>
                                    {s.members.into_iter().map(|m| {
                                        let label = format!("Role of {}", m.email);
                                        let (uid_change, uid_remove, role) = (m.user_id.clone(), m.user_id.clone(), m.role.clone());
                                        let email_for_remove = m.email.clone();
                                        let controls = can_share.then(move || view! {
                                            <td class="flex flex-wrap gap-2">
                                                <ActionForm action=set_role attr:class="flex gap-2">
                                                    <input type="hidden" name="id" value=id.get_value() />
                                                    <input type="hidden" name="user" value=uid_change />
                                                    <select name="role" class="input w-auto" aria-label=label>{role_options(&role)}</select>
                                                    <button type="submit" class="btn-secondary">"Change"</button>
                                                </ActionForm>
                                                <ActionForm action=set_role>
                                                    <input type="hidden" name="id" value=id.get_value() />
                                                    <input type="hidden" name="user" value=uid_remove />
                                                    <input type="hidden" name="role" value="" />
                                                    <ConfirmButton
                                                        label="Remove"
                                                        aria_label=format!("Remove {}", email_for_remove)
                                                        title="Remove this person?"
                                                        message=format!("{email_for_remove} loses access to this datasource and everything collected from it.")
                                                        confirm="Remove"
                                                    />
                                                </ActionForm>
                                            </td>
                                        });
                                        view! {
                                            <tr data-testid="member-row" data-email=m.email.clone()>
                                                <td class="font-medium">{m.email.clone()}</td>
                                                <td>{m.display_name.clone()}</td>
                                                <td data-testid="member-role">{m.role.clone()}</td>
                                                {controls}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <h2 class="mb-2 text-lg font-semibold">"Pending invitations"</h2>
                        {if s.invitations.is_empty() {
                            view! { <p class="mb-8 text-slate-600 dark:text-slate-400" data-testid="no-invitations">"No invitations are waiting for an answer."</p> }.into_any()
                        } else {
                            view! {
                                <div class="mb-8 overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                                    <table class="table" data-testid="pending-invitations">
                                        <thead><tr>
                                            <th scope="col">"E-mail"</th><th scope="col">"Role"</th><th scope="col">"Sent"</th>
                                            {can_share.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                                        </tr></thead>
                                        <tbody>
                                            {s.invitations.into_iter().map(|i| {
                                                let revoke_label = format!("Revoke the invitation of {}", i.email);
                                                let revoke_message = format!("{} will no longer be able to accept it. You can invite them again later.", i.email);
                                                view! {
                                                <tr data-testid="invitation-row" data-email=i.email.clone()>
                                                    <td class="font-medium">{i.email.clone()}</td>
                                                    <td>{i.role.clone()}</td>
                                                    <td>{i.created_at.clone()}</td>
                                                    {can_share.then(|| view! {
                                                        <td>
                                                            <ActionForm action=revoke>
                                                                <input type="hidden" name="id" value=id.get_value() />
                                                                <input type="hidden" name="invitation_id" value=i.id.clone() />
                                                                <ConfirmButton
                                                                    label="Revoke"
                                                                    aria_label=revoke_label
                                                                    title="Revoke this invitation?"
                                                                    message=revoke_message
                                                                    confirm="Revoke"
                                                                />
                                                            </ActionForm>
                                                        </td>
                                                    })}
                                                </tr>
                                            }}).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                    }.into_any(),
                }
            })}
        </Transition>
        {can_share.then(|| view! {
            <ActionForm action=invite attr:class="card max-w-2xl space-y-4" attr:aria-label="Invite someone">
                <h2 class="text-lg font-semibold">"Invite someone"</h2>
                <p class="hint">"They see this datasource as invited until they accept. An address without an account yet gets the invitation when an admin creates the account."</p>
                <input type="hidden" name="id" value=id.get_value() />
                <div>
                    <label for="invite-email" class="label">"E-mail"</label>
                    <input id="invite-email" name="email" type="email" class="input" required autocomplete="off" />
                    {field_error(invited, "email")}
                </div>
                <div>
                    <label for="invite-role" class="label">"Role"</label>
                    <select id="invite-role" name="role" class="input">{role_options("viewer")}</select>
                    {field_error(invited, "role")}
                </div>
                {form_error(invited, &["email", "role"])}
                {flashed_from::<Invite>().and_then(|f| f.detail).map(|said| view! {
                    <p role="status" class="text-green-700 dark:text-green-400" data-testid="invited">{said}</p>
                })}
                <button type="submit" class="btn-primary" data-pending-label="Sending…">"Send invitation"</button>
            </ActionForm>
        })}
    }
}

/// The datasource page's sync actions: created for the errors their forms come back with.
#[derive(Clone, Copy)]
struct Ops {
    sync: ServerAction<SyncNow>,
    pause: ServerAction<PauseDatasource>,
    resume: ServerAction<ResumeDatasource>,
    process: ServerAction<SendToProcessing>,
}

/// Sync now, Pause, Resume (each shown only when the status allows it) and Send to processing.
/// Plain forms; the page's script posts them and shows what they did.
#[component]
fn SyncControls(d: DatasourceView) -> impl IntoView {
    let status = d.sync_status.as_str();
    let can_sync = matches!(status, "created" | "synced" | "failed" | "error");
    let can_pause = matches!(
        status,
        "pending" | "syncing" | "failed" | "error" | "resuming" | "synced"
    );
    let can_resume = status == "paused";
    let form = |path: &'static str, label: &'static str, id: String| {
        view! {
            <form method="post" action=path>
                <input type="hidden" name="id" value=id />
                <button type="submit" class="btn-secondary">{label}</button>
            </form>
        }
    };
    view! {
        <div class="ml-auto flex gap-2" data-testid="sync-controls">
            {can_sync.then(|| form(<SyncNow as ServerFn>::PATH, "Sync now", d.id.clone()))}
            {can_pause.then(|| form(<PauseDatasource as ServerFn>::PATH, "Pause", d.id.clone()))}
            {can_resume.then(|| form(<ResumeDatasource as ServerFn>::PATH, "Resume", d.id.clone()))}
            {form(<SendToProcessing as ServerFn>::PATH, "Send to processing", d.id.clone())}
        </div>
    }
}

/// What the last sync action did, below the header: how many resources were queued, or why it
/// was refused.
#[component]
fn SyncOutcome(ops: Ops) -> impl IntoView {
    let queued = flashed_from::<SendToProcessing>()
        .and_then(|f| f.detail)
        .and_then(|n| n.parse::<i64>().ok());
    view! {
        {queued.map(|n| view! {
            <p role="status" class="mb-4 text-sm text-green-700 dark:text-green-400" data-testid="processing-queued">
                {format!("{n} resource{} queued for processing.", if n == 1 { "" } else { "s" })}
            </p>
        })}
        {form_error(ops.process.value(), &[])}
        {form_error(ops.sync.value(), &[])}
        {form_error(ops.pause.value(), &[])}
        {form_error(ops.resume.value(), &[])}
    }
}

/// The sync history: when, how long, what changed, what went wrong.
#[component]
fn Activity(id: String) -> impl IntoView {
    let id = StoredValue::new(id);
    let runs = Resource::new(move || id.get_value(), sync_history);
    view! {
        <div id="ds-activity" data-live=id.get_value()>
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Loading activity…"</div> }>
            {move || Suspend::new(async move {
                match runs.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <section class="card text-center" data-testid="no-activity">
                            <h2 class="font-semibold">"No syncs yet"</h2>
                            <p class="mt-1 text-slate-600 dark:text-slate-300">"Each sync run appears here with what it added, updated and deleted."</p>
                        </section>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                            <table class="table" data-testid="activity">
                                <thead><tr>
                                    <th scope="col">"Started"</th><th scope="col">"Took"</th><th scope="col">"Outcome"</th>
                                    <th scope="col" class="text-right">"Added"</th><th scope="col" class="text-right">"Updated"</th>
                                    <th scope="col" class="text-right">"Deleted"</th><th scope="col">"Note"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r| view! {
                                        <tr data-testid="run-row">
                                            <td>{r.started_at}</td>
                                            <td>{r.duration.unwrap_or_else(|| "running".into())}</td>
                                            <td><StatusBadge status=r.outcome.clone() reason=String::new() /></td>
                                            <td class="text-right tabular-nums">{r.added}</td>
                                            <td class="text-right tabular-nums">{r.updated}</td>
                                            <td class="text-right tabular-nums">{r.deleted}</td>
                                            <td class="break-words">{r.error.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        </div>
    }
}
