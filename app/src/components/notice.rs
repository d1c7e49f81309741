//! Error and empty-state blocks shared by the pages.

use leptos::prelude::*;

use crate::error::AppError;

/// An error rendered in place. A 401 offers the login page instead of a dead end.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let login =
        (error.status == 401).then(|| view! { <a class="link ml-2" href="/login">"Log in"</a> });
    view! {
        <div role="alert" class="rounded-md border border-red-300 bg-red-50 p-4 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
            {error.message.clone()}
            {login}
        </div>
    }
}

/// The message for `field` from the last failed submission, shown under its input.
pub fn field_error<T, S>(
    value: S,
    field: impl Into<String>,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    let field: String = field.into();
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(&field))
            .map(|m| {
                view! { <p class="field-error" role="alert" data-field-error=field.clone()>{m}</p> }
                    .into_any()
            })
    }
}

/// A form-level error (one that names no field of the form).
pub fn form_error<T, S>(
    value: S,
    fields: &'static [&'static str],
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    form_error_except(value, fields.iter().map(|f| (*f).to_owned()).collect())
}

/// [`form_error`] for fields known at run time (a connector's settings).
pub fn form_error_except<T, S>(
    value: S,
    fields: Vec<String>,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .filter(|e| {
                e.field
                    .as_deref()
                    .is_none_or(|f| !fields.iter().any(|k| k == f))
            })
            .map(|e| view! { <ErrorNotice error=e /> }.into_any())
    }
}
