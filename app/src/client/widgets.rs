//! The pages' small interactive parts, by their data attributes:
//!
//! - `button[data-confirm]` followed by a `<dialog>`: the click opens the dialog; its
//!   `[data-dialog-confirm]` submits the button's form, `[data-dialog-cancel]` (or Escape)
//!   closes it, and the focus goes back to the button.
//! - `[data-toggle=<id>]`: shows or hides the element `id` (`aria-expanded`, and the label from
//!   `data-label-open` / `data-label-closed`).
//! - `[data-dismiss]`: removes the nearest `[data-dismissable]`.
//! - `form[data-selection]`: rows `[data-select-row]`, `[data-select-all]`, the count
//!   `[data-selected-count]`; a `[data-needs-selection]` button with nothing checked toasts its
//!   value instead of posting.
//! - `select[data-autosubmit]`: a changed choice submits its form.

use wasm_bindgen::JsCast;
use web_sys::{
    Element, Event, HtmlDialogElement, HtmlElement, HtmlFormElement, HtmlInputElement, MouseEvent,
};

use super::dom::{self, doc};
use super::toast_failure;

pub fn install() {
    let d = doc();
    // Before the page's link and form handling (registered later on the same target).
    dom::listen::<MouseEvent>(&d, "click", false, on_click);
    dom::listen::<Event>(&d, "change", false, on_change);
    // `close` does not bubble: heard on the way down.
    dom::listen::<Event>(&d, "close", true, |e| {
        if let Some(dialog) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlDialogElement>().ok())
            && let Some(trigger) = trigger_of(&dialog)
        {
            let _ = trigger.focus();
        }
    });
}

fn on_click(e: MouseEvent) {
    if e.default_prevented() {
        return;
    }
    let target = e.target();
    if let Some(button) = dom::closest(target.clone(), "[data-confirm]") {
        if let Some(dialog) = button
            .next_element_sibling()
            .and_then(|d| d.dyn_into::<HtmlDialogElement>().ok())
        {
            e.prevent_default();
            if dialog.show_modal().is_ok()
                && let Some(cancel) = dialog
                    .query_selector("[data-dialog-cancel]")
                    .ok()
                    .flatten()
                    .and_then(|c| c.dyn_into::<HtmlElement>().ok())
            {
                let _ = cancel.focus();
            }
        }
        return;
    }
    if let Some(cancel) = dom::closest(target.clone(), "[data-dialog-cancel]") {
        if let Some(dialog) = dialog_of(&cancel) {
            dialog.close();
        }
        return;
    }
    if let Some(confirm) = dom::closest(target.clone(), "[data-dialog-confirm]") {
        if let Some(dialog) = dialog_of(&confirm) {
            dialog.close();
            if let Some(trigger) = trigger_of(&dialog)
                && let Some(form) = trigger
                    .closest("form")
                    .ok()
                    .flatten()
                    .and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
            {
                let _ = form.request_submit_with_submitter(Some(&trigger));
            }
        }
        return;
    }
    if let Some(toggle) = dom::closest(target.clone(), "[data-toggle]") {
        toggle_section(&toggle);
        return;
    }
    if let Some(dismiss) = dom::closest(target.clone(), "[data-dismiss]") {
        if let Ok(Some(gone)) = dismiss.closest("[data-dismissable]") {
            gone.remove();
        }
        return;
    }
    if let Some(button) = dom::closest(target, "[data-needs-selection]")
        && let Ok(Some(form)) = button.closest("form")
        && checked_rows(&form).is_empty()
    {
        e.prevent_default();
        toast_failure(
            &button
                .get_attribute("data-needs-selection")
                .unwrap_or_default(),
        );
    }
}

fn dialog_of(el: &Element) -> Option<HtmlDialogElement> {
    el.closest("dialog").ok().flatten()?.dyn_into().ok()
}

/// The button a confirmation dialog belongs to: the one just before it.
fn trigger_of(dialog: &HtmlDialogElement) -> Option<HtmlElement> {
    dialog
        .previous_element_sibling()
        .filter(|b| b.has_attribute("data-confirm"))
        .and_then(|b| b.dyn_into().ok())
}

fn toggle_section(toggle: &Element) {
    let Some(section) = toggle
        .get_attribute("data-toggle")
        .and_then(|id| doc().get_element_by_id(&id))
    else {
        return;
    };
    let open = section.has_attribute("hidden");
    if open {
        let _ = section.remove_attribute("hidden");
    } else {
        let _ = section.set_attribute("hidden", "");
    }
    let _ = toggle.set_attribute("aria-expanded", if open { "true" } else { "false" });
    let label = toggle.get_attribute(if open {
        "data-label-open"
    } else {
        "data-label-closed"
    });
    if let Some(l) = label {
        toggle.set_text_content(Some(&l));
    }
}

fn on_change(e: Event) {
    let target = e.target();
    if let Some(all) = dom::closest(target.clone(), "[data-select-all]") {
        let on = all
            .dyn_ref::<HtmlInputElement>()
            .is_some_and(HtmlInputElement::checked);
        if let Ok(Some(form)) = all.closest("form") {
            for row in rows(&form).into_iter().filter(|r| !r.disabled()) {
                row.set_checked(on);
            }
        }
        sync_selection();
        return;
    }
    if dom::closest(target.clone(), "[data-select-row]").is_some() {
        sync_selection();
        return;
    }
    if let Some(select) = dom::closest(target, "select[data-autosubmit]")
        && let Ok(Some(form)) = select.closest("form")
        && let Ok(form) = form.dyn_into::<HtmlFormElement>()
    {
        let _ = form.request_submit();
    }
}

fn rows(form: &Element) -> Vec<HtmlInputElement> {
    dom::all(form, "input[data-select-row]")
        .into_iter()
        .filter_map(|e| e.dyn_into().ok())
        .collect()
}

fn checked_rows(form: &Element) -> Vec<HtmlInputElement> {
    rows(form).into_iter().filter(|r| r.checked()).collect()
}

/// Brings each selection's count and select-all box in line with its checked rows.
pub fn sync_selection() {
    for form in dom::all_in_doc(&doc(), "#page form[data-selection]") {
        let rows = rows(&form);
        let enabled = rows.iter().filter(|r| !r.disabled()).count();
        let checked = rows.iter().filter(|r| r.checked()).count();
        if let Some(all) = dom::all(&form, "input[data-select-all]")
            .into_iter()
            .find_map(|e| e.dyn_into::<HtmlInputElement>().ok())
        {
            all.set_checked(enabled > 0 && checked == enabled);
            all.set_disabled(enabled == 0);
        }
        for count in dom::all(&form, "[data-selected-count]") {
            let text = match checked {
                0 => count.get_attribute("data-none").unwrap_or_default(),
                n => format!("{n} selected:"),
            };
            if count.text_content().as_deref() != Some(text.as_str()) {
                count.set_text_content(Some(&text));
            }
        }
    }
}
