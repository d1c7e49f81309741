//! Toasts: short messages about what just happened ("Paused 3 datasources", "Could not reach
//! the server"), announced to screen readers and gone after a few seconds. They live in the
//! [`Shell`](super::shell::Shell) island, outside the page the browser swaps, so a toast
//! survives the navigation that often follows an action.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
}

/// The shell's toasts. Copy it anywhere in the browser and call [`Toasts::success`] or
/// [`Toasts::failure`].
#[derive(Clone, Copy)]
pub struct Toasts {
    pub list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

/// How long a toast stays, unless dismissed.
#[cfg(feature = "hydrate")]
const LIFETIME_MS: u64 = 6000;

/// Never a wall of them: beyond this many the oldest go first.
const MOST: usize = 4;

impl Toasts {
    /// The toasts the page arrived with (what the server flashed).
    pub fn new(initial: Vec<(ToastKind, String)>) -> Self {
        let list: Vec<Toast> = initial
            .into_iter()
            .enumerate()
            .map(|(i, (kind, text))| Toast {
                id: i as u64,
                kind,
                text,
            })
            .collect();
        Self {
            next: StoredValue::new(list.len() as u64),
            list: RwSignal::new(list),
        }
    }

    pub fn success(&self, text: impl Into<String>) {
        self.push(ToastKind::Success, text.into());
    }

    pub fn failure(&self, text: impl Into<String>) {
        self.push(ToastKind::Failure, text.into());
    }

    pub fn push(&self, kind: ToastKind, text: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            l.push(Toast { id, kind, text });
            if l.len() > MOST {
                l.remove(0);
            }
        });
        self.expire(id);
    }

    /// Removes toast `id` after its lifetime (in the browser; a page without JavaScript keeps
    /// its toast until the next page).
    pub fn expire(&self, id: u64) {
        #[cfg(feature = "hydrate")]
        {
            let list = self.list;
            set_timeout(
                move || list.update(|l| l.retain(|t| t.id != id)),
                std::time::Duration::from_millis(LIFETIME_MS),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }

    pub fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

/// One toast. `dismiss` is its close button, shown once the page is interactive (`live`).
#[component]
pub fn ToastItem(
    kind: ToastKind,
    text: String,
    dismiss: Callback<()>,
    live: Signal<bool>,
) -> impl IntoView {
    let success = kind == ToastKind::Success;
    view! {
        <div
            class=if success { "toast toast-success" } else { "toast toast-failure" }
            data-toast=if success { "success" } else { "failure" }
        >
            <span aria-hidden="true">{if success { "✓" } else { "✕" }}</span>
            <span class="sr-only">{if success { "Done: " } else { "Failed: " }}</span>
            <p class="toast-text flex-1">{text}</p>
            {move || live.get().then(|| view! {
                <button
                    type="button"
                    class="rounded px-1 text-current opacity-70 hover:opacity-100 focus-visible:outline-2 focus-visible:outline-current"
                    aria-label="Dismiss"
                    on:click=move |_| dismiss.run(())
                >
                    "×"
                </button>
            })}
        </div>
    }
}
