//! Toasts: short messages about what just happened ("Paused 3 datasources", "Could not
//! delete: ..."), announced to screen readers and gone after a few seconds. The context lives
//! above the router, so a toast survives the navigation that often follows an action.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    text: String,
}

/// The app's toasts. Copy it into event handlers and call [`Toasts::success`] or
/// [`Toasts::failure`].
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

/// How long a toast stays, unless dismissed.
const LIFETIME_MS: u64 = 6000;

impl Toasts {
    pub fn success(&self, text: impl Into<String>) {
        self.push(ToastKind::Success, text.into());
    }

    pub fn failure(&self, text: impl Into<String>) {
        self.push(ToastKind::Failure, text.into());
    }

    fn push(&self, kind: ToastKind, text: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            l.push(Toast { id, kind, text });
            // Never a wall of them: the oldest go first.
            if l.len() > 4 {
                l.remove(0);
            }
        });
        let list = self.list;
        set_timeout(
            move || list.update(|l| l.retain(|t| t.id != id)),
            std::time::Duration::from_millis(LIFETIME_MS),
        );
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

pub fn provide_toasts() {
    provide_context(Toasts {
        list: RwSignal::new(Vec::new()),
        next: StoredValue::new(0),
    });
}

/// The toasts of the app (a fresh, unseen set outside [`provide_toasts`]).
pub fn use_toasts() -> Toasts {
    use_context::<Toasts>().unwrap_or_else(|| Toasts {
        list: RwSignal::new(Vec::new()),
        next: StoredValue::new(0),
    })
}

/// Where toasts appear: the bottom right corner, above everything, in a polite live region.
#[component]
pub fn Toaster() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div
            class="pointer-events-none fixed bottom-4 right-4 z-50 flex w-80 max-w-[calc(100vw-2rem)] flex-col gap-2"
            role="status"
            aria-live="polite"
            data-testid="toasts"
        >
            <For each=move || toasts.list.get() key=|t| t.id let:t>
                <ToastItem kind=t.kind text=t.text dismiss=Some(Callback::new(move |()| toasts.dismiss(t.id))) />
            </For>
        </div>
    }
}

/// One toast; `dismiss` is the button that closes it (none on a page without JavaScript).
#[component]
pub fn ToastItem(kind: ToastKind, text: String, dismiss: Option<Callback<()>>) -> impl IntoView {
    let success = kind == ToastKind::Success;
    view! {
        <div
            class=if success { "toast toast-success" } else { "toast toast-failure" }
            data-toast=if success { "success" } else { "failure" }
        >
            <span aria-hidden="true">{if success { "✓" } else { "✕" }}</span>
            <span class="sr-only">{if success { "Done: " } else { "Failed: " }}</span>
            <p class="flex-1">{text}</p>
            {dismiss.map(|d| view! {
                <button
                    type="button"
                    class="rounded px-1 text-current opacity-70 hover:opacity-100 focus-visible:outline-2 focus-visible:outline-current"
                    aria-label="Dismiss"
                    on:click=move |_| d.run(())
                >
                    "×"
                </button>
            })}
        </div>
    }
}

/// Toasts the outcome of a server action each time it settles: `success` describes what was
/// done; a failure shows the server's message (the page also keeps showing it in place).
pub fn toast_outcome<T, S>(value: S, success: impl Fn(&T) -> String + Send + Sync + 'static)
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, crate::error::AppError>>> + Send + Sync + 'static,
{
    let toasts = use_toasts();
    Effect::new(move |_| match value.get() {
        Some(Ok(v)) => toasts.success(success(&v)),
        Some(Err(e)) => toasts.failure(e.message),
        None => {}
    });
}
