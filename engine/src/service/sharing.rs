//! Sharing a datasource: members and their roles, invitations by e-mail, and the invitee's
//! side (list, accept, decline). Every check goes through [`super::access::authorize`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::access::Action;
use super::{Engine, json_object, new_id, refuse_unknown};
use crate::domain::{DatasourceRole, Email, InvitationStatus};
use crate::error::{EngineError, Result};
use crate::model::{Invitation, InvitationView, Member, User};

/// Who has which role on a datasource, and who is invited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sharing {
    pub members: Vec<Member>,
    pub invitations: Vec<Invitation>,
}

fn role_field(v: Option<&Value>, field: &str) -> Result<Option<DatasourceRole>> {
    match v {
        None => Err(EngineError::invalid(field, "is required")),
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|e: EngineError| {
            EngineError::invalid(field, e.to_string().replace("role: ", ""))
        }),
        Some(_) => Err(EngineError::invalid(
            field,
            "must be owner, editor, viewer or null",
        )),
    }
}

impl Engine {
    /// Members and pending invitations; anyone with a role may look.
    pub async fn sharing(&self, user: &User, id: &str) -> Result<Sharing> {
        self.datasource_for(user, id, Action::Browse).await?;
        Ok(Sharing {
            members: self.store.members(id).await?,
            invitations: self.store.datasource_invitations(id).await?,
        })
    }

    /// `{"roles": [{"user": "<id or e-mail>", "role": "editor"}, {"user": ..., "role": null}]}`
    /// from an owner: changes existing members' roles (`null` removes). New people are invited
    /// with [`Engine::invite`] instead. Leaving the datasource without an owner is a 409.
    #[tracing::instrument(skip_all, fields(id))]
    pub async fn change_sharing(&self, user: &User, id: &str, body: &Value) -> Result<Sharing> {
        self.datasource_for(user, id, Action::Share).await?;
        let obj = json_object(body)?;
        refuse_unknown(obj, &["roles"])?;
        let entries = match obj.get("roles") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(EngineError::invalid(
                    "roles",
                    "must be a non-empty list of {\"user\", \"role\"}",
                ));
            }
        };
        let members = self.store.members(id).await?;
        let mut changes = Vec::with_capacity(entries.len());
        for (n, entry) in entries.iter().enumerate() {
            let field = format!("roles[{n}]");
            let e = entry.as_object().ok_or_else(|| {
                EngineError::invalid(field.clone(), "must be an object with user and role")
            })?;
            refuse_unknown(e, &["user", "role"])?;
            let who = match e.get("user") {
                Some(Value::String(s)) => s.trim(),
                _ => {
                    return Err(EngineError::invalid(
                        format!("{field}.user"),
                        "must be a user id or e-mail",
                    ));
                }
            };
            let member = members
                .iter()
                .find(|m| m.user_id == who || m.email.eq_ignore_ascii_case(who))
                .ok_or_else(|| {
                    EngineError::invalid(
                        format!("{field}.user"),
                        format!("'{who}' has no role here; invite them with @invite"),
                    )
                })?;
            let role = role_field(e.get("role"), &format!("{field}.role"))?;
            changes.push((member.user_id.clone(), role));
        }
        self.store.change_roles(id, &changes, super::now()).await?;
        // Those removed no longer see it, so they are named to be told.
        let removed: Vec<String> = changes
            .iter()
            .filter(|(_, role)| role.is_none())
            .map(|(user_id, _)| user_id.clone())
            .collect();
        self.events.publish(
            id,
            if removed.is_empty() {
                crate::events::What::Updated
            } else {
                crate::events::What::Withdrawn { audience: removed }
            },
        );
        self.sharing(user, id).await.or_else(|e| match e {
            // An owner who removed themselves can no longer look.
            EngineError::NotFound(_) => Ok(Sharing {
                members: Vec::new(),
                invitations: Vec::new(),
            }),
            e => Err(e),
        })
    }

    /// `{"email", "role"?}` from an owner: a pending invitation (default role: viewer). The
    /// e-mail need not have an account yet; the account picks the invitation up when created.
    #[tracing::instrument(skip_all, fields(id))]
    pub async fn invite(&self, user: &User, id: &str, body: &Value) -> Result<Invitation> {
        self.datasource_for(user, id, Action::Share).await?;
        let obj = json_object(body)?;
        refuse_unknown(obj, &["email", "role"])?;
        let email = match obj.get("email") {
            Some(Value::String(s)) => Email::parse(s)?,
            _ => return Err(EngineError::invalid("email", "is required")),
        };
        let role = match obj.get("role") {
            None | Some(Value::Null) => DatasourceRole::Viewer,
            v => role_field(v, "role")?.unwrap_or(DatasourceRole::Viewer),
        };
        if email.as_str() == user.email {
            return Err(EngineError::invalid("email", "you cannot invite yourself"));
        }
        if let Some(m) = self
            .store
            .members(id)
            .await?
            .into_iter()
            .find(|m| m.email == email.as_str())
        {
            return Err(EngineError::Conflict(format!(
                "{} already has the role {} here; change it under sharing instead",
                m.email, m.role
            )));
        }
        let now = super::now();
        let inv = Invitation {
            id: new_id(),
            datasource_id: id.to_owned(),
            email: email.as_str().to_owned(),
            role,
            invited_by: user.id.clone(),
            status: InvitationStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_invitation(&inv).await?;
        self.events.publish(id, crate::events::What::Updated);
        Ok(inv)
    }

    /// An owner withdraws a pending invitation.
    #[tracing::instrument(skip_all, fields(id, invitation_id))]
    pub async fn revoke_invitation(
        &self,
        user: &User,
        id: &str,
        invitation_id: &str,
    ) -> Result<()> {
        self.datasource_for(user, id, Action::Share).await?;
        let inv = self
            .store
            .invitation(invitation_id)
            .await?
            .filter(|i| i.datasource_id == id)
            .ok_or_else(|| EngineError::NotFound(format!("invitation '{invitation_id}'")))?;
        self.settle(&inv, InvitationStatus::Revoked, None).await
    }

    /// The pending invitations addressed to `user`.
    pub async fn my_invitations(&self, user: &User) -> Result<Vec<InvitationView>> {
        self.store.invitations_for(&user.email).await
    }

    pub async fn count_my_invitations(&self, user: &User) -> Result<i64> {
        self.store.count_invitations_for(&user.email).await
    }

    /// The invitee accepts: they get the invitation's role.
    #[tracing::instrument(skip_all, fields(invitation_id))]
    pub async fn accept_invitation(&self, user: &User, invitation_id: &str) -> Result<Invitation> {
        let inv = self.own_invitation(user, invitation_id).await?;
        self.settle(&inv, InvitationStatus::Accepted, Some(&user.id))
            .await?;
        Ok(Invitation {
            status: InvitationStatus::Accepted,
            ..inv
        })
    }

    #[tracing::instrument(skip_all, fields(invitation_id))]
    pub async fn decline_invitation(&self, user: &User, invitation_id: &str) -> Result<Invitation> {
        let inv = self.own_invitation(user, invitation_id).await?;
        self.settle(&inv, InvitationStatus::Declined, None).await?;
        Ok(Invitation {
            status: InvitationStatus::Declined,
            ..inv
        })
    }

    /// An invitation addressed to `user`; anyone else's is a 404.
    async fn own_invitation(&self, user: &User, invitation_id: &str) -> Result<Invitation> {
        self.store
            .invitation(invitation_id)
            .await?
            .filter(|i| i.email == user.email)
            .ok_or_else(|| EngineError::NotFound(format!("invitation '{invitation_id}'")))
    }

    async fn settle(
        &self,
        inv: &Invitation,
        to: InvitationStatus,
        user_id: Option<&str>,
    ) -> Result<()> {
        if inv.status == InvitationStatus::Pending
            && self
                .store
                .settle_invitation(&inv.id, to, user_id, super::now())
                .await?
        {
            // A revoked or declined invitee no longer sees the datasource: named to be told.
            let what = match to {
                InvitationStatus::Accepted => crate::events::What::Updated,
                _ => crate::events::What::Withdrawn {
                    audience: vec![inv.email.clone()],
                },
            };
            self.events.publish(&inv.datasource_id, what);
            return Ok(());
        }
        let now = self
            .store
            .invitation(&inv.id)
            .await?
            .map_or(inv.status, |i| i.status);
        Err(EngineError::Conflict(format!(
            "this invitation is no longer pending: it was {now}"
        )))
    }
}
