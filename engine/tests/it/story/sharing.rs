//! Sharing: roles, the last owner, invitations.

use super::*;

on_both!(
    sharing_roles_and_last_owner,
    invitations_lifecycle,
    invitation_waits_for_an_account,
);

async fn sharing_roles_and_last_owner(e: Engine, db: TestDb) -> TestDb {
    let owner = user(&e, "owner@example.com").await;
    let bob = user(&e, "bob@example.com").await;
    let ds = s3(&e, &owner, "shared").await;
    let sharing = e.sharing(&owner, &ds.id).await.unwrap();
    assert_eq!(sharing.members.len(), 1);
    assert_eq!(
        sharing.members[0].role,
        DatasourceRole::Owner,
        "the creator is owner"
    );

    // Roles change only for members; newcomers are invited.
    let e404 = e
        .change_sharing(
            &owner,
            &ds.id,
            &json!({"roles": [{"user": "bob@example.com", "role": "editor"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e404.field(), Some("roles[0].user"), "{e404}");
    let inv = e
        .invite(
            &owner,
            &ds.id,
            &json!({"email": "bob@example.com", "role": "editor"}),
        )
        .await
        .unwrap();
    e.accept_invitation(&bob, &inv.id).await.unwrap();
    assert_eq!(
        e.get_datasource(&bob, &ds.id).await.unwrap().access,
        Access::Member(DatasourceRole::Editor)
    );
    // An editor configures but cannot share or delete.
    assert_eq!(
        status(
            e.update_datasource(&bob, &ds.id, &json!({"title": "by bob"}))
                .await
        ),
        200
    );
    assert_eq!(
        status(
            e.invite(&bob, &ds.id, &json!({"email": "x@example.com"}))
                .await
        ),
        403
    );
    assert_eq!(status(e.delete_datasource(&bob, &ds.id).await), 403);

    // The last owner cannot leave or be demoted; with a second owner they can.
    let last = e
        .change_sharing(
            &owner,
            &ds.id,
            &json!({"roles": [{"user": owner.id, "role": "viewer"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(last.status_code(), 409, "{last}");
    assert_eq!(
        e.sharing(&owner, &ds.id).await.unwrap().members[0].role,
        DatasourceRole::Owner,
        "a refused change changed nothing"
    );
    e.change_sharing(
        &owner,
        &ds.id,
        &json!({"roles": [{"user": bob.id, "role": "owner"}, {"user": owner.email, "role": null}]}),
    )
    .await
    .unwrap();
    assert_eq!(
        status(e.get_datasource(&owner, &ds.id).await),
        404,
        "removed: a stranger now"
    );
    assert_eq!(
        status(e.delete_datasource(&bob, &ds.id).await),
        200,
        "bob owns it now"
    );

    // Bad bodies are 4xx and change nothing.
    let ds2 = s3(&e, &owner, "other").await;
    for body in [
        json!([]),
        json!({"roles": []}),
        json!({"roles": [{"user": owner.id, "role": "king"}]}),
        json!({"roles": [{"user": owner.id}]}),
        json!({"roles": [{"user": owner.id, "role": "viewer", "x": 1}]}),
        json!({"nope": 1}),
    ] {
        let code = status(e.change_sharing(&owner, &ds2.id, &body).await);
        assert!((400..500).contains(&code), "{body} → {code}");
    }
    assert_eq!(e.sharing(&owner, &ds2.id).await.unwrap().members.len(), 1);
    db
}

async fn invitations_lifecycle(e: Engine, db: TestDb) -> TestDb {
    let owner = user(&e, "owner@example.com").await;
    let bob = user(&e, "bob@example.com").await;
    let carol = user(&e, "carol@example.com").await;
    let ds = s3(&e, &owner, "for bob").await;
    e.add_resources(&ds.id, &[engine::service::sample_resource(&ds.id, 1)])
        .await
        .unwrap();

    // Refusals: yourself, bad e-mail, bad role, someone else's datasource, twice.
    assert_eq!(
        e.invite(&owner, &ds.id, &json!({"email": "OWNER@example.com"}))
            .await
            .unwrap_err()
            .field(),
        Some("email")
    );
    assert_eq!(
        status(e.invite(&owner, &ds.id, &json!({"email": "nope"})).await),
        422
    );
    assert_eq!(
        status(
            e.invite(&owner, &ds.id, &json!({"email": "b@x.org", "role": "god"}))
                .await
        ),
        422
    );
    assert_eq!(
        status(
            e.invite(&carol, &ds.id, &json!({"email": "bob@example.com"}))
                .await
        ),
        404
    );
    let inv = e
        .invite(&owner, &ds.id, &json!({"email": " Bob@Example.com "}))
        .await
        .unwrap();
    assert_eq!(inv.role, DatasourceRole::Viewer, "viewer by default");
    assert_eq!(inv.email, "bob@example.com");
    assert_eq!(
        status(
            e.invite(&owner, &ds.id, &json!({"email": "bob@example.com"}))
                .await
        ),
        409
    );

    // The invitee sees it, as invited, and nothing inside.
    let list = e
        .list_datasources(&bob, &Default::default(), None, None)
        .await
        .unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].shown_status(), SyncStatus::Invited);
    assert_eq!(
        status(e.children(&bob, &ds.id, &ChildrenQuery::default()).await),
        403
    );
    assert_eq!(status(e.sharing(&bob, &ds.id).await), 403);
    assert_eq!(e.count_my_invitations(&bob).await.unwrap(), 1);
    let mine = e.my_invitations(&bob).await.unwrap();
    assert_eq!(mine[0].datasource_title, "for bob");
    assert_eq!(mine[0].inviter_email, "owner@example.com");
    // Nobody else can accept it, and the owner sees it pending.
    assert_eq!(status(e.accept_invitation(&carol, &inv.id).await), 404);
    assert_eq!(
        e.sharing(&owner, &ds.id).await.unwrap().invitations.len(),
        1
    );

    e.accept_invitation(&bob, &inv.id).await.unwrap();
    assert_eq!(
        e.children(&bob, &ds.id, &ChildrenQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        status(e.accept_invitation(&bob, &inv.id).await),
        409,
        "only once"
    );
    assert_eq!(
        status(e.delete_datasource(&bob, &ds.id).await),
        403,
        "a viewer"
    );
    assert_eq!(e.count_my_invitations(&bob).await.unwrap(), 0);
    assert_eq!(
        status(
            e.invite(&owner, &ds.id, &json!({"email": "bob@example.com"}))
                .await
        ),
        409,
        "already a member"
    );

    // Decline and revoke.
    let to_carol = e
        .invite(
            &owner,
            &ds.id,
            &json!({"email": "carol@example.com", "role": "editor"}),
        )
        .await
        .unwrap();
    e.decline_invitation(&carol, &to_carol.id).await.unwrap();
    assert_eq!(status(e.get_datasource(&carol, &ds.id).await), 404);
    let again = e
        .invite(&owner, &ds.id, &json!({"email": "carol@example.com"}))
        .await
        .expect("a declined invitation can be sent again");
    assert_eq!(
        status(e.revoke_invitation(&bob, &ds.id, &again.id).await),
        403
    );
    e.revoke_invitation(&owner, &ds.id, &again.id)
        .await
        .unwrap();
    assert_eq!(status(e.accept_invitation(&carol, &again.id).await), 409);
    assert_eq!(status(e.get_datasource(&carol, &ds.id).await), 404);
    let stored = db.engine().await.unwrap();
    assert_eq!(
        stored
            .store()
            .invitation(&again.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Revoked
    );
    db
}

async fn invitation_waits_for_an_account(e: Engine, db: TestDb) -> TestDb {
    let admin = e
        .create_user("admin@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let ds = s3(&e, &admin, "early").await;
    let inv = e
        .invite(
            &admin,
            &ds.id,
            &json!({"email": "later@example.com", "role": "editor"}),
        )
        .await
        .unwrap();
    let later = e
        .admin_create_user(
            &admin,
            &json!({"email": "Later@example.com", "password": "password123"}),
        )
        .await
        .unwrap();
    let list = e
        .list_datasources(&later, &Default::default(), None, None)
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(matches!(&list.items[0].access, Access::Invited(i) if i.id == inv.id));
    e.accept_invitation(&later, &inv.id).await.unwrap();
    assert_eq!(
        e.get_datasource(&later, &ds.id).await.unwrap().access,
        Access::Member(DatasourceRole::Editor)
    );
    db
}
