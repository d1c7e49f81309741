//! The one island of every page: what stays on screen while pages change under it (the toasts,
//! the lost-connection banner, the page-loading bar) and, in the browser, the controller that
//! makes the server-rendered pages live ([`crate::client`]). It sits outside `#page`, which the
//! controller swaps, so it is hydrated once per full page load and never torn down.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::toast::{ToastItem, ToastKind, Toasts};

/// A toast the server flashed onto the page (what the last form did).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlashToast {
    pub ok: bool,
    pub text: String,
}

/// The shell's state, shared with the controller.
#[derive(Clone, Copy)]
pub struct Ui {
    pub toasts: Toasts,
    /// The live stream was up and has been down for a few seconds.
    pub lost: RwSignal<bool>,
    /// A page or a form's answer is on its way.
    pub loading: RwSignal<bool>,
}

#[island]
pub fn Shell(toasts: Vec<FlashToast>) -> impl IntoView {
    let ui = Ui {
        toasts: Toasts::new(
            toasts
                .into_iter()
                .map(|t| {
                    let kind = if t.ok {
                        ToastKind::Success
                    } else {
                        ToastKind::Failure
                    };
                    (kind, t.text)
                })
                .collect(),
        ),
        lost: RwSignal::new(false),
        loading: RwSignal::new(false),
    };
    // Set once the controller runs: the toasts' close buttons only work from then on.
    let live = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        untrack(|| {
            for t in ui.toasts.list.get_untracked() {
                ui.toasts.expire(t.id);
            }
            crate::client::install(ui);
            live.set(true);
        })
    });
    let toasts = ui.toasts;
    view! {
        {move || ui.loading.get().then(|| view! {
            <div class="page-loading" role="progressbar" aria-label="Loading"></div>
        })}
        {move || ui.lost.get().then(|| view! {
            <div role="status" class="connection-lost" data-testid="connection-lost">
                "Connection to the server lost. Reconnecting… Pages refresh when it is back."
            </div>
        })}
        <div
            id="toasts"
            class="pointer-events-none fixed bottom-4 right-4 z-50 flex w-80 max-w-[calc(100vw-2rem)] flex-col gap-2"
            role="status"
            aria-live="polite"
            data-testid="toasts"
        >
            <For each=move || toasts.list.get() key=|t| t.id let:t>
                <ToastItem
                    kind=t.kind
                    text=t.text
                    dismiss=Callback::new(move |()| toasts.dismiss(t.id))
                    live=live.into()
                />
            </For>
        </div>
    }
}
