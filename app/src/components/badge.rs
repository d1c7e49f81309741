//! The sync status badge: colour and text, with the meaning (or the stored reason) for hover
//! and screen readers.

use leptos::prelude::*;

use crate::types::STATUSES;

pub fn status_class(status: &str) -> &'static str {
    match status {
        "synced" => "badge badge-green",
        "syncing" | "resuming" => "badge badge-blue",
        "pending" => "badge badge-amber",
        "failed" => "badge badge-orange",
        "error" => "badge badge-red",
        "paused" => "badge badge-slate",
        "invited" => "badge badge-violet",
        _ => "badge badge-gray",
    }
}

pub fn status_meaning(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, m)| *m)
        .unwrap_or("")
}

#[component]
pub fn StatusBadge(status: String, #[prop(optional)] reason: Option<String>) -> impl IntoView {
    let meaning = status_meaning(&status);
    let title = match reason {
        Some(r) if !r.is_empty() => format!("{meaning}. {r}"),
        _ => meaning.to_owned(),
    };
    view! {
        <span class=status_class(&status) title=title.clone() data-status=status.clone()>
            {status.clone()}
            <span class="sr-only">{format!(": {title}")}</span>
        </span>
    }
}
