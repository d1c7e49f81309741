//! A submit button that asks first. The server renders the button and, right after it, a closed
//! `<dialog>`; in the browser a click opens the dialog modally (focus moves into it, Escape
//! cancels and the focus returns to the button, the page behind is inert) and only *Confirm*
//! submits the form (see `client::widgets`). Without JavaScript the button submits directly, so
//! forms keep working.

use leptos::prelude::*;

#[component]
pub fn ConfirmButton(
    /// The button's text.
    #[prop(into)]
    label: String,
    /// The dialog's heading and accessible name, e.g. "Revoke this token?".
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
) -> impl IntoView {
    let name = title.clone();
    view! {
        <button type="submit" class=class aria-label=aria_label data-confirm="">
            {label}
        </button>
        <dialog class="dialog" aria-label=name data-testid="confirm-dialog">
            <h2 class="text-lg font-semibold">{title}</h2>
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">{message}</p>
            <div class="mt-6 flex justify-end gap-3">
                <button type="button" class="btn-secondary" data-dialog-cancel="">"Cancel"</button>
                <button type="button" class="btn-danger" data-testid="confirm" data-dialog-confirm="">{confirm}</button>
            </div>
        </dialog>
    }
}
