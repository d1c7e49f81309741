pub mod account;
pub mod datasource_detail;
pub mod datasource_list;
pub mod datasource_new;
pub mod invitations;
pub mod login;
pub mod not_found;
pub mod users;
