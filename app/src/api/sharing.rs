//! Sharing: members, roles and invitations.

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::types::said;
use crate::types::{InvitationRow, MyInvitation, SharingView};

/// Who has which role on a datasource, and who is invited.
#[server(prefix = "/rpc", endpoint = "get_sharing")]
pub async fn get_sharing(id: String) -> Result<SharingView, AppError> {
    let user = super::ssr::user()?;
    let s = super::ssr::engine()?.sharing(&user, &id).await?;
    Ok(SharingView {
        members: s
            .members
            .into_iter()
            .map(|m| crate::types::MemberView {
                user_id: m.user_id,
                email: m.email,
                display_name: m.display_name,
                role: m.role.to_string(),
            })
            .collect(),
        invitations: s.invitations.into_iter().map(invitation_row).collect(),
    })
}

#[cfg(feature = "ssr")]
fn invitation_row(i: engine::model::Invitation) -> InvitationRow {
    InvitationRow {
        id: i.id,
        email: i.email,
        role: i.role.to_string(),
        created_at: super::ssr::ts(i.created_at),
    }
}

/// Changes a member's role; an empty role removes them (owners only).
#[server(prefix = "/rpc", endpoint = "set_role")]
pub async fn set_role(id: String, user: String, role: String) -> Result<(), AppError> {
    let actor = super::ssr::user()?;
    let role = if role.trim().is_empty() {
        serde_json::Value::Null
    } else {
        role.into()
    };
    let body = serde_json::json!({"roles": [{"user": user, "role": role}]});
    super::ssr::engine()?
        .change_sharing(&actor, &id, &body)
        .await?;
    super::ssr::flash::<SetRole>(said::ACCESS_CHANGED);
    Ok(())
}

/// The *Invite* form (owners only).
#[server(prefix = "/rpc", endpoint = "invite")]
pub async fn invite(id: String, email: String, role: String) -> Result<InvitationRow, AppError> {
    let actor = super::ssr::user()?;
    let body = serde_json::json!({"email": email, "role": role});
    let invitation = super::ssr::engine()?.invite(&actor, &id, &body).await?;
    super::ssr::flash_detail::<Invite>(
        &said::invited(&invitation.email),
        format!("Invited {} as {}.", invitation.email, invitation.role),
    );
    Ok(invitation_row(invitation))
}

#[server(prefix = "/rpc", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: String, invitation_id: String) -> Result<(), AppError> {
    let actor = super::ssr::user()?;
    super::ssr::engine()?
        .revoke_invitation(&actor, &id, &invitation_id)
        .await?;
    super::ssr::flash::<RevokeInvitation>(said::INVITATION_REVOKED);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "my_invitations")]
pub async fn my_invitations() -> Result<Vec<MyInvitation>, AppError> {
    let user = super::ssr::user()?;
    Ok(super::ssr::engine()?
        .my_invitations(&user)
        .await?
        .into_iter()
        .map(super::ssr::my_invitation)
        .collect())
}

/// Accepts and opens the datasource.
#[server(prefix = "/rpc", endpoint = "accept_invitation")]
pub async fn accept_invitation(invitation_id: String) -> Result<String, AppError> {
    let user = super::ssr::user()?;
    let inv = super::ssr::engine()?
        .accept_invitation(&user, &invitation_id)
        .await?;
    super::ssr::flash::<AcceptInvitation>(said::INVITATION_ACCEPTED);
    leptos_axum::redirect(&format!("/datasources/{}", inv.datasource_id));
    Ok(inv.datasource_id)
}

#[server(prefix = "/rpc", endpoint = "decline_invitation")]
pub async fn decline_invitation(invitation_id: String) -> Result<(), AppError> {
    let user = super::ssr::user()?;
    super::ssr::engine()?
        .decline_invitation(&user, &invitation_id)
        .await?;
    super::ssr::flash::<DeclineInvitation>(said::INVITATION_DECLINED);
    leptos_axum::redirect("/invitations");
    Ok(())
}
