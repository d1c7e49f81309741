//! Who may do what with a datasource: one function of user, access and action, used by the
//! REST API and the server functions alike (both call the engine, which calls this).
//!
//! Someone with no role and no pending invitation gets a 404, exactly as for an id that does
//! not exist, so ids cannot be probed. An invitee sees that the datasource exists (its title,
//! as `invited`) and nothing else. Account admins have no implicit access to datasources:
//! managing accounts does not grant reading other people's data.

use super::Engine;
use crate::domain::DatasourceRole;
use crate::error::{EngineError, Result};
use crate::model::{Access, DatasourceView, User};

/// What someone wants to do with a datasource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Know it exists: its title and status in a list (all an invitee gets).
    See,
    /// Read all of it: settings, history, children, resources, search, who it is shared with.
    Browse,
    /// Change its title, sync type and connector settings.
    Configure,
    /// Sync now, pause, resume, send to processing, refresh credentials.
    Operate,
    /// Invite people, revoke invitations, change roles.
    Share,
    /// Delete it and everything collected.
    Delete,
}

impl Action {
    /// The least role the action needs; `None` when a pending invitation is enough.
    pub fn needs(self) -> Option<DatasourceRole> {
        match self {
            Action::See => None,
            Action::Browse => Some(DatasourceRole::Viewer),
            Action::Configure | Action::Operate => Some(DatasourceRole::Editor),
            Action::Share | Action::Delete => Some(DatasourceRole::Owner),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Action::See => "seeing this datasource",
            Action::Browse => "seeing what this datasource holds",
            Action::Configure => "changing this datasource's settings",
            Action::Operate => "syncing, pausing or processing this datasource",
            Action::Share => "sharing this datasource",
            Action::Delete => "deleting this datasource",
        }
    }
}

/// The one authorisation rule. `access` is what `user` has on datasource `id`, if anything.
pub fn authorize(user: &User, id: &str, access: Option<&Access>, action: Action) -> Result<()> {
    if !user.active {
        return Err(EngineError::Unauthorized(
            "this account is deactivated".into(),
        ));
    }
    let Some(access) = access else {
        return Err(EngineError::NotFound(format!("datasource '{id}'")));
    };
    let Some(needed) = action.needs() else {
        return Ok(());
    };
    match access {
        Access::Invited(_) => Err(EngineError::Forbidden(format!(
            "you are invited to this datasource but have not accepted; accept the invitation before {}",
            action.describe()
        ))),
        Access::Member(role) if role.at_least(needed) => Ok(()),
        Access::Member(role) => Err(EngineError::Forbidden(format!(
            "your role on this datasource is {role}; {} needs {}",
            action.describe(),
            match needed {
                DatasourceRole::Owner => "owner",
                DatasourceRole::Editor => "editor or owner",
                DatasourceRole::Viewer => "viewer, editor or owner",
            }
        ))),
    }
}

impl Engine {
    /// What `user` has on datasource `id`, given their `role` on it: the role, else a pending
    /// invitation (read only when there is no role), else nothing.
    async fn access_from(
        &self,
        user: &User,
        id: &str,
        role: Option<crate::domain::DatasourceRole>,
    ) -> Result<Option<Access>> {
        if let Some(role) = role {
            return Ok(Some(Access::Member(role)));
        }
        Ok(self
            .store
            .pending_invitation(id, &user.email)
            .await?
            .map(Access::Invited))
    }

    /// The datasource if `user` may do `action` with it: 404 if they have no access at all,
    /// 403 if their access is not enough.
    pub async fn datasource_for(
        &self,
        user: &User,
        id: &str,
        action: Action,
    ) -> Result<DatasourceView> {
        let Some((datasource, role)) = self.store.datasource_with_role(id, &user.id).await? else {
            return Err(EngineError::NotFound(format!("datasource '{id}'")));
        };
        let access = self.access_from(user, id, role).await?;
        authorize(user, id, access.as_ref(), action)?;
        let access = access.ok_or_else(|| EngineError::NotFound(format!("datasource '{id}'")))?;
        Ok(DatasourceView { datasource, access })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountRole, InvitationStatus};
    use crate::model::Invitation;

    fn user(role: AccountRole) -> User {
        let now = chrono::Utc::now();
        User {
            id: "u".into(),
            email: "u@example.com".into(),
            display_name: "U".into(),
            role,
            active: true,
            created_at: now,
            updated_at: now,
        }
    }

    fn invited() -> Access {
        let now = chrono::Utc::now();
        Access::Invited(Invitation {
            id: "i".into(),
            datasource_id: "d".into(),
            email: "u@example.com".into(),
            role: DatasourceRole::Editor,
            invited_by: "o".into(),
            status: InvitationStatus::Pending,
            created_at: now,
            updated_at: now,
        })
    }

    const ACTIONS: [Action; 6] = [
        Action::See,
        Action::Browse,
        Action::Configure,
        Action::Operate,
        Action::Share,
        Action::Delete,
    ];

    /// The whole rule as a table: access × action → allowed, 403 or 404.
    #[test]
    fn every_access_and_action() {
        use DatasourceRole::*;
        // (access, [See, Browse, Configure, Operate, Share, Delete]) with 2 = ok, 3 = 403, 4 = 404.
        let table: Vec<(Option<Access>, [u16; 6])> = vec![
            (None, [404; 6]),
            (Some(invited()), [200, 403, 403, 403, 403, 403]),
            (Some(Access::Member(Viewer)), [200, 200, 403, 403, 403, 403]),
            (Some(Access::Member(Editor)), [200, 200, 200, 200, 403, 403]),
            (Some(Access::Member(Owner)), [200; 6]),
        ];
        for account in [AccountRole::Member, AccountRole::Admin] {
            let u = user(account);
            for (access, expected) in &table {
                for (action, want) in ACTIONS.iter().zip(expected) {
                    let got = match authorize(&u, "d", access.as_ref(), *action) {
                        Ok(()) => 200,
                        Err(e) => e.status_code(),
                    };
                    assert_eq!(got, *want, "{account} {access:?} {action:?}");
                }
            }
        }
    }

    #[test]
    fn a_deactivated_user_may_do_nothing() {
        let mut u = user(AccountRole::Admin);
        u.active = false;
        let owner = Access::Member(DatasourceRole::Owner);
        for action in ACTIONS {
            assert!(authorize(&u, "d", Some(&owner), action).is_err());
        }
    }

    #[test]
    fn refusals_say_which_role_is_needed() {
        let u = user(AccountRole::Member);
        let e = authorize(
            &u,
            "d",
            Some(&Access::Member(DatasourceRole::Viewer)),
            Action::Delete,
        )
        .unwrap_err();
        assert!(e.to_string().contains("viewer"), "{e}");
        assert!(e.to_string().contains("owner"), "{e}");
    }
}
