//! Accounts: users, tokens, the first admin, administration, login throttling, passwords.

use super::*;

on_both!(
    users_and_tokens,
    first_admin_only_once,
    account_administration,
    login_throttling,
    personal_tokens_and_password_change,
);

async fn users_and_tokens(e: Engine, db: TestDb) -> TestDb {
    let u = e
        .create_user("Ann@Example.com", "Ann", "password123", AccountRole::Member)
        .await
        .unwrap();
    assert_eq!(u.email, "ann@example.com");
    let dup = e
        .create_user("ann@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap_err();
    assert_eq!(dup.status_code(), 409);
    assert_eq!(
        e.create_user("b@x.io", "", "short", AccountRole::Member)
            .await
            .unwrap_err()
            .field(),
        Some("password")
    );

    assert_eq!(
        e.login("ann@example.com", "wrong-password", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code(),
        401
    );
    assert_eq!(
        e.login("nobody@example.com", "password123", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code(),
        401
    );
    let t = e
        .login("ANN@example.com", "password123", TokenKind::Api)
        .await
        .unwrap();
    assert_eq!(e.authenticate(&t.token).await.unwrap().id, u.id);
    assert_eq!(
        e.authenticate("forged").await.unwrap_err().status_code(),
        401
    );
    e.logout(&t.token).await.unwrap();
    assert_eq!(
        e.authenticate(&t.token).await.unwrap_err().status_code(),
        401
    );
    db
}

async fn first_admin_only_once(e: Engine, db: TestDb) -> TestDb {
    let first = e
        .ensure_first_admin(None, None)
        .await
        .unwrap()
        .expect("created");
    let pw = first.generated_password.expect("generated");
    assert!(pw.len() >= 16);
    let t = e
        .login(&first.email, &pw, TokenKind::Session)
        .await
        .unwrap();
    assert_eq!(t.user.role, AccountRole::Admin);
    assert!(
        e.ensure_first_admin(Some("other@x.io"), Some("password123"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(e.store().count_users().await.unwrap(), 1);
    db
}

async fn account_administration(e: Engine, db: TestDb) -> TestDb {
    let admin = e
        .create_user(
            "root@example.com",
            "Root",
            "password123",
            AccountRole::Admin,
        )
        .await
        .unwrap();
    let member = user(&e, "m@example.com").await;
    let forbidden = e
        .admin_create_user(
            &member,
            &json!({"email": "x@example.com", "password": "password123"}),
        )
        .await
        .unwrap_err();
    assert_eq!(forbidden.status_code(), 403);
    assert_eq!(e.list_users(&member).await.unwrap_err().status_code(), 403);

    let bob = e
        .admin_create_user(
            &admin,
            &json!({"email": "Bob@Example.com", "password": "password123", "role": "admin"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (bob.email.as_str(), bob.role),
        ("bob@example.com", AccountRole::Admin)
    );
    for (body, field) in [
        (json!({"password": "password123"}), "email"),
        (json!({"email": "c@x.io", "password": "short"}), "password"),
        (
            json!({"email": "c@x.io", "password": "password123", "role": "owner"}),
            "role",
        ),
        (
            json!({"email": "c@x.io", "password": "password123", "colour": 1}),
            "colour",
        ),
    ] {
        assert_eq!(
            e.admin_create_user(&admin, &body)
                .await
                .unwrap_err()
                .field(),
            Some(field),
            "{body}"
        );
    }
    assert_eq!(e.list_users(&admin).await.unwrap().len(), 3);

    // Deactivating ends the user's sessions and refuses new logins.
    let t = e
        .login("m@example.com", "password123", TokenKind::Api)
        .await
        .unwrap();
    let off = e
        .update_user(&admin, &member.id, &json!({"active": false}))
        .await
        .unwrap();
    assert!(!off.active);
    assert_eq!(
        e.authenticate(&t.token).await.unwrap_err().status_code(),
        401
    );
    assert_eq!(
        e.login("m@example.com", "password123", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code(),
        401
    );

    // The last active admin can be neither demoted nor deactivated.
    e.update_user(&admin, &bob.id, &json!({"role": "member"}))
        .await
        .unwrap();
    assert_eq!(
        e.update_user(&admin, &admin.id, &json!({"active": false}))
            .await
            .unwrap_err()
            .status_code(),
        409
    );
    assert_eq!(
        e.update_user(&admin, &admin.id, &json!({"role": "member"}))
            .await
            .unwrap_err()
            .status_code(),
        409
    );

    // A password reset ends sessions; the new password works.
    let t = e
        .login("bob@example.com", "password123", TokenKind::Session)
        .await
        .unwrap();
    e.reset_password("bob@example.com", "new-password-1")
        .await
        .unwrap();
    assert!(e.authenticate(&t.token).await.is_err());
    assert!(
        e.login("bob@example.com", "new-password-1", TokenKind::Api)
            .await
            .is_ok()
    );
    db
}

async fn login_throttling(e: Engine, db: TestDb) -> TestDb {
    user(&e, "t@example.com").await;
    for _ in 0..engine::service::throttle::FREE_ATTEMPTS {
        assert_eq!(
            e.login("t@example.com", "wrong-password", TokenKind::Api)
                .await
                .unwrap_err()
                .status_code(),
            401
        );
    }
    // Locked now: even the right password is refused until the lock expires.
    let locked = e
        .login("t@example.com", "password123", TokenKind::Api)
        .await
        .unwrap_err();
    assert_eq!(locked.status_code(), 429, "{locked}");
    assert!(
        e.login("other@example.com", "x-password", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code()
            == 401
    );
    db
}

async fn personal_tokens_and_password_change(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "tok@example.com").await;
    let other = user(&e, "other@example.com").await;
    let made = e.create_personal_token(&u, "backup script").await.unwrap();
    assert!(made.secret.starts_with("trb_"));
    assert_eq!(e.authenticate(&made.secret).await.unwrap().id, u.id);
    assert_eq!(
        status(e.create_personal_token(&u, "backup script").await),
        422
    );
    assert_eq!(status(e.create_personal_token(&u, "  ").await), 422);
    let listed = e.personal_tokens(&u).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "backup script");
    assert!(listed[0].expires_at.is_none(), "long-lived");
    assert!(e.personal_tokens(&other).await.unwrap().is_empty());
    assert_eq!(
        status(e.revoke_personal_token(&other, &made.info.id).await),
        404
    );
    assert!(
        e.authenticate(&made.secret).await.is_ok(),
        "another user's revoke did nothing"
    );

    // Changing the password ends other sessions but keeps this one and personal tokens.
    let here = e
        .login("tok@example.com", "password123", TokenKind::Session)
        .await
        .unwrap();
    let elsewhere = e
        .login("tok@example.com", "password123", TokenKind::Session)
        .await
        .unwrap();
    let wrong = e
        .change_password(&u, Some(&here.token), "not-it-at-all", "newpassword1")
        .await
        .unwrap_err();
    assert_eq!(wrong.field(), Some("current_password"));
    let short = e
        .change_password(&u, Some(&here.token), "password123", "short")
        .await
        .unwrap_err();
    assert_eq!(short.field(), Some("new_password"));
    assert!(
        e.authenticate(&elsewhere.token).await.is_ok(),
        "refused changes change nothing"
    );
    e.change_password(&u, Some(&here.token), "password123", "newpassword1")
        .await
        .unwrap();
    assert!(e.authenticate(&here.token).await.is_ok());
    assert_eq!(status(e.authenticate(&elsewhere.token).await), 401);
    assert!(e.authenticate(&made.secret).await.is_ok());
    assert_eq!(
        status(
            e.login("tok@example.com", "password123", TokenKind::Api)
                .await
        ),
        401
    );
    e.login("tok@example.com", "newpassword1", TokenKind::Api)
        .await
        .unwrap();

    e.revoke_personal_token(&u, &made.info.id).await.unwrap();
    assert_eq!(
        status(e.authenticate(&made.secret).await),
        401,
        "revoked at once"
    );
    assert!(e.personal_tokens(&u).await.unwrap().is_empty());
    db
}
