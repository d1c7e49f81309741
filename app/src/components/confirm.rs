//! A submit button that asks first. With JavaScript, the click opens a modal dialog (the
//! browser's `<dialog>`: focus moves into it, Escape cancels, the page behind is inert) and
//! only *Confirm* submits the form; without JavaScript the button submits directly, so forms
//! keep working.

use leptos::html;
use leptos::prelude::*;

#[component]
pub fn ConfirmButton(
    /// The button's text.
    #[prop(into)]
    label: String,
    /// The dialog's heading, e.g. "Revoke this token?".
    #[prop(into)]
    title: String,
    /// What will happen, in a sentence.
    #[prop(into)]
    message: String,
    /// The confirming button's text, e.g. "Revoke".
    #[prop(into)]
    confirm: String,
    #[prop(into, default = "btn-secondary".to_owned())] class: String,
    /// An accessible name when `label` alone is ambiguous ("Revoke ci-token").
    #[prop(into, optional)]
    aria_label: Option<String>,
    #[prop(into, optional)] disabled: Signal<bool>,
) -> impl IntoView {
    let trigger = NodeRef::<html::Button>::new();
    let dialog = NodeRef::<html::Dialog>::new();
    let cancel = NodeRef::<html::Button>::new();
    // Set while the confirmed click goes through, so it is not intercepted again.
    let confirmed = StoredValue::new(false);
    let heading_id = format!("confirm-{}", next_id());
    let close = move || {
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
        if let Some(t) = trigger.get_untracked() {
            let _ = t.focus();
        }
    };
    view! {
        <button
            type="submit"
            class=class
            node_ref=trigger
            aria-label=aria_label
            disabled=move || disabled.get()
            on:click=move |ev| {
                if confirmed.get_value() {
                    confirmed.set_value(false);
                    return;
                }
                ev.prevent_default();
                if let Some(d) = dialog.get_untracked() {
                    let _ = d.show_modal();
                    if let Some(c) = cancel.get_untracked() {
                        let _ = c.focus();
                    }
                }
            }
        >
            {label}
        </button>
        <dialog
            node_ref=dialog
            class="dialog"
            aria-labelledby=heading_id.clone()
            data-testid="confirm-dialog"
            on:cancel=move |ev: leptos::ev::Event| {
                ev.prevent_default();
                close();
            }
        >
            <h2 id=heading_id.clone() class="text-lg font-semibold">{title}</h2>
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">{message}</p>
            <div class="mt-6 flex justify-end gap-3">
                <button type="button" class="btn-secondary" node_ref=cancel on:click=move |_| close()>
                    "Cancel"
                </button>
                <button
                    type="button"
                    class="btn-danger"
                    data-testid="confirm"
                    on:click=move |_| {
                        if let Some(d) = dialog.get_untracked() {
                            d.close();
                        }
                        confirmed.set_value(true);
                        if let Some(t) = trigger.get_untracked() {
                            t.click();
                        }
                    }
                >
                    {confirm}
                </button>
            </div>
        </dialog>
    }
}

/// A number for element ids, unique within a page.
fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
