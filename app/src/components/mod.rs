pub mod badge;
pub mod confirm;
pub mod layout;
pub mod notice;
pub mod shell;
pub mod toast;
