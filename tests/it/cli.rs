//! Every admin command's success and error paths, through the real binary.

use crate::common::{Browser, Kontor};

#[test]
fn commands_on_an_uninitialised_data_dir_say_run_init() {
    let k = Kontor::new();
    let err = k.fails(&["tenant", "list"]);
    assert!(err.contains("kontor init"), "{err}");
    assert!(
        !k.data_dir().exists(),
        "a failed command must not create the data dir"
    );
}

#[test]
fn init_creates_private_dir_and_key_and_is_idempotent() {
    use std::os::unix::fs::PermissionsExt;
    let k = Kontor::new();
    let out = k.json(&["init"]);
    assert_eq!(out["created_key"], true);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&k.data_dir()), 0o700);
    let key = k.data_dir().join("master.key");
    assert_eq!(mode(&key), 0o600);
    let bytes = std::fs::read(&key).unwrap();
    assert_eq!(bytes.len(), 32);
    let again = k.json(&["init"]);
    assert_eq!(again["created_key"], false);
    assert_eq!(
        std::fs::read(&key).unwrap(),
        bytes,
        "init must never replace a key"
    );
}

#[test]
fn tenant_lifecycle_with_errors() {
    let k = Kontor::new();
    k.ok(&["init"]);
    let t = k.json(&["tenant", "create", "acme", "--name", "Acme GmbH"]);
    assert_eq!(t["slug"], "acme");
    assert_eq!(t["name"], "Acme GmbH");
    let uuid = t["uuid"].as_str().unwrap().to_string();
    assert!(
        k.data_dir()
            .join("tenants")
            .join(format!("{uuid}.db"))
            .exists()
    );

    assert!(k.fails(&["tenant", "create", "acme"]).contains("exists"));
    assert!(k.fails(&["tenant", "create", "Bad Slug"]).contains("slug"));
    assert!(k.fails(&["tenant", "create", "../etc"]).contains("slug"));
    assert!(
        k.fails(&["tenant", "create", "ok", "--name", "x\ny"])
            .contains("control")
    );

    let list = k.json(&["tenant", "list"]);
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1);
    assert!(k.ok(&["tenant", "list"]).contains("acme"));

    let show = k.json(&["tenant", "show", "acme"]);
    assert_eq!(show["uuid"], uuid.as_str());
    assert_eq!(show["agents"], 0);
    assert!(k.fails(&["tenant", "show", "nope"]).contains("not found"));

    let err = k.fails(&["tenant", "delete", "acme"]);
    assert!(err.contains("--yes"), "{err}");
    assert!(
        k.data_dir()
            .join("tenants")
            .join(format!("{uuid}.db"))
            .exists()
    );
    assert!(
        k.fails(&["tenant", "delete", "nope", "--yes"])
            .contains("not found")
    );
    k.ok(&["tenant", "delete", "acme", "--yes"]);
    assert!(
        !k.data_dir()
            .join("tenants")
            .join(format!("{uuid}.db"))
            .exists()
    );
    assert_eq!(
        k.json(&["tenant", "list"])["tenants"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn agent_commands_with_errors() {
    let (k, _) = Kontor::with_tenant();
    // Generated password: printed once, strong, and it works.
    let added = k.json(&["agent", "add", "acme", "Bob@Acme.example", "--name", "Bob"]);
    assert_eq!(added["agent"]["email"], "bob@acme.example");
    assert_eq!(added["agent"]["role"], "agent");
    let generated = added["generated_password"].as_str().unwrap().to_string();
    assert!(generated.len() >= 20);
    let text = k.ok(&["agent", "add", "acme", "cy@acme.example", "--name", "Cy"]);
    assert!(text.contains("password: "), "{text}");

    assert!(
        k.fails(&["agent", "add", "acme", "bob@acme.example", "--name", "B"])
            .contains("exists")
    );
    assert!(
        k.fails(&["agent", "add", "acme", "not-an-email", "--name", "B"])
            .contains("email")
    );
    assert!(
        k.fails(&["agent", "add", "nope", "x@acme.example", "--name", "B"])
            .contains("not found")
    );
    let err = k.fails(&[
        "agent",
        "add",
        "acme",
        "d@acme.example",
        "--name",
        "D",
        "--role",
        "root",
    ]);
    assert!(
        err.contains("role \"root\" does not exist; roles: admin, supervisor, agent"),
        "{err}"
    );
    let usage = k.run(&["agent", "add", "acme", "d@acme.example", "--nme", "D"]);
    assert_eq!(
        usage.status.code(),
        Some(2),
        "clap usage errors exit with 2"
    );
    let weak = k.run_stdin(
        &[
            "agent",
            "add",
            "acme",
            "d@acme.example",
            "--name",
            "D",
            "--password-stdin",
        ],
        "password123\n",
    );
    assert_eq!(weak.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("common"));
    let short = k.run_stdin(
        &[
            "agent",
            "add",
            "acme",
            "d@acme.example",
            "--name",
            "D",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(1));
    let empty = k.run_stdin(
        &[
            "agent",
            "add",
            "acme",
            "d@acme.example",
            "--name",
            "D",
            "--password-stdin",
        ],
        "",
    );
    assert_eq!(empty.status.code(), Some(1));

    let list = k.json(&["agent", "list", "acme"]);
    let emails: Vec<&str> = list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["ann@acme.example", "bob@acme.example", "cy@acme.example"]
    );
    assert!(
        !k.ok(&["agent", "list", "acme", "--json"])
            .contains("argon2"),
        "no hashes in output"
    );

    let changed = k.json(&["agent", "passwd", "acme", "bob@acme.example"]);
    let new_pw = changed["generated_password"].as_str().unwrap();
    assert_ne!(new_pw, generated);
    k.ok_stdin(
        &[
            "agent",
            "passwd",
            "acme",
            "bob@acme.example",
            "--password-stdin",
        ],
        "a fresh passphrase\n",
    );
    assert!(
        k.fails(&["agent", "passwd", "acme", "zed@acme.example"])
            .contains("not found")
    );

    let disabled = k.json(&["agent", "disable", "acme", "bob@acme.example"]);
    assert_eq!(disabled["agent"]["disabled"], true);
    assert!(
        k.fails(&["agent", "disable", "acme", "zed@acme.example"])
            .contains("not found")
    );
}

#[test]
fn site_commands_print_key_and_snippet() {
    let (k, _) = Kontor::with_tenant();
    let site = k.json(&[
        "site",
        "add",
        "acme",
        "--origin",
        "https://Shop.Example/",
        "--origin",
        "http://localhost:3000",
    ]);
    let key = site["site_key"].as_str().unwrap();
    assert!(key.starts_with("site_") && key.len() >= 30);
    assert_eq!(
        site["origins"],
        serde_json::json!(["https://shop.example", "http://localhost:3000"])
    );
    assert_eq!(
        site["snippet"],
        format!(
            "<script src=\"http://127.0.0.1:8080/widget.js\" data-site=\"{key}\" async></script>"
        )
    );
    let text = k.ok(&["site", "add", "acme", "--origin", "https://other.example"]);
    assert!(
        text.contains("<script src=") && text.contains("data-site=\"site_"),
        "{text}"
    );

    assert!(k.fails(&["site", "add", "acme"]).contains("--origin"));
    assert!(
        k.fails(&["site", "add", "acme", "--origin", "javascript:alert(1)"])
            .contains("origin")
    );
    assert!(
        k.fails(&["site", "add", "acme", "--origin", "https://a.example/path"])
            .contains("origin")
    );
    assert!(
        k.fails(&["site", "add", "nope", "--origin", "https://a.example"])
            .contains("not found")
    );

    let list = k.json(&["site", "list", "acme"]);
    assert_eq!(list["sites"].as_array().unwrap().len(), 2);
    assert!(k.ok(&["site", "list", "acme"]).contains(key));
    assert!(k.fails(&["site", "list", "nope"]).contains("not found"));
}

#[test]
fn json_errors_are_machine_readable() {
    let k = Kontor::new();
    k.ok(&["init"]);
    let out = k.run(&["tenant", "show", "nope", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
}

#[test]
fn operator_cli_never_prints_password_hashes_or_keys() {
    let (k, _) = Kontor::with_tenant();
    let key_hex: String = std::fs::read(k.data_dir().join("master.key"))
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for args in [
        vec!["tenant", "show", "acme", "--json"],
        vec!["tenant", "list", "--json"],
        vec!["agent", "list", "acme", "--json"],
        vec!["check-config", "--json"],
        vec!["check-config"],
    ] {
        let out = k.ok(&args);
        assert!(!out.contains("argon2"), "{args:?}: {out}");
        assert!(!out.contains(&key_hex), "{args:?} printed the master key");
        assert!(!out.contains("wrapped"), "{args:?}: {out}");
    }
}

#[test]
fn commands_take_effect_at_once_on_a_running_server() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    assert!(k.data_dir().join("admin.sock").exists());
    // Through the admin socket: the new agent can sign in immediately, without a restart.
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "dora@acme.example",
            "--name",
            "Dora",
            "--password-stdin",
        ],
        "dora's long password",
    );
    let mut b = Browser::new(&server.base);
    assert_eq!(
        b.login("acme", "dora@acme.example", "dora's long password")
            .status,
        303
    );
    assert_eq!(b.get("/api/session").status, 200);
    // Disabling through the socket ends the session at once.
    k.ok(&["agent", "disable", "acme", "dora@acme.example"]);
    assert_eq!(b.get("/api/session").status, 401);
    // The snippet uses the running server's address.
    let site = k.json(&["site", "add", "acme", "--origin", "https://shop.example"]);
    assert!(
        site["snippet"].as_str().unwrap().contains(&server.base),
        "{site}"
    );
    // Tenant create and delete through the running server.
    k.ok(&["tenant", "create", "beta"]);
    k.ok(&["tenant", "delete", "beta", "--yes"]);
    assert!(k.fails(&["tenant", "show", "beta"]).contains("not found"));
}

#[test]
fn admin_socket_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (k, _) = Kontor::with_tenant();
    let _server = k.server(&[]);
    let mode = std::fs::metadata(k.data_dir().join("admin.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let (k, _) = Kontor::with_tenant();
    let _server = k.server(&[]);
    let out = k.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another kontor server"));
}

#[test]
fn the_man_page_comes_from_the_cli_definitions() {
    let k = Kontor::new();
    let page = k.ok(&["man"]);
    assert!(page.contains(".TH kontor 1"), "{page}");
    for cmd in ["tenant", "agent", "site", "backup", "doctor"] {
        assert!(page.contains(cmd), "man page lacks {cmd}");
    }
}
