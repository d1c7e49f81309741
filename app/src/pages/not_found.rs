use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <h1 class="text-2xl font-semibold">"Page not found"</h1>
        <p class="mt-2"><a class="link" href="/datasources">"Back to your datasources"</a></p>
    }
}
