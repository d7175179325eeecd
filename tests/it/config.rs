//! Configuration precedence and rejection, through `kontor check-config`.

use crate::common::Kontor;

fn effective(env: &[(&str, &str)], flags: &[&str]) -> std::process::Output {
    let mut args = vec!["check-config", "--json"];
    args.extend_from_slice(flags);
    let mut c = std::process::Command::new(crate::common::BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("KONTOR_") {
            c.env_remove(key);
        }
    }
    c.args(&args);
    for (key, v) in env {
        c.env(key, v);
    }
    c.output().unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn precedence_is_defaults_file_env_flags() {
    let k = Kontor::new();
    let file = k.dir.path().join("c.toml");
    std::fs::write(
        &file,
        "data_dir = \"/from/file\"\nlisten = \"127.0.0.1:1111\"\nlog = \"debug\"\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();

    let v = json(&effective(&[], &["--config", "/dev/null"]));
    assert_eq!(v["data_dir"], "./kontor-data");
    assert_eq!(v["listen"], "127.0.0.1:8080");

    let v = json(&effective(&[], &["--config", f]));
    assert_eq!(
        (v["data_dir"].as_str(), v["listen"].as_str()),
        (Some("/from/file"), Some("127.0.0.1:1111"))
    );

    let v = json(&effective(&[("KONTOR_CONFIG", f)], &[]));
    assert_eq!(v["data_dir"], "/from/file", "KONTOR_CONFIG names the file");

    let env = [
        ("KONTOR_DATA_DIR", "/from/env"),
        ("KONTOR_LISTEN", "127.0.0.1:2222"),
    ];
    let v = json(&effective(&env, &["--config", f]));
    assert_eq!(
        (v["data_dir"].as_str(), v["listen"].as_str()),
        (Some("/from/env"), Some("127.0.0.1:2222"))
    );
    assert_eq!(
        v["log"], "debug",
        "keys not overridden keep the file's value"
    );

    let v = json(&effective(
        &env,
        &[
            "--config",
            f,
            "--data-dir",
            "/from/flag",
            "--listen",
            "127.0.0.1:3333",
        ],
    ));
    assert_eq!(
        (v["data_dir"].as_str(), v["listen"].as_str()),
        (Some("/from/flag"), Some("127.0.0.1:3333"))
    );
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    let k = Kontor::new();
    let file = k.dir.path().join("c.toml");
    std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let out = effective(&[], &["--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lisen"));

    let out = effective(&[("KONTOR_LISTNE", "x")], &["--config", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("KONTOR_LISTNE"));

    let out = effective(&[], &["--config", "/nonexistent/kontor.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/nonexistent/kontor.toml"));
}

#[test]
fn check_config_masks_the_master_key_and_prints_toml() {
    let out = std::process::Command::new(crate::common::BIN)
        .args([
            "check-config",
            "--config",
            "/dev/null",
            "--data-dir",
            "/srv/k",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("data_dir = \"/srv/k\""), "{text}");
    assert!(text.contains("master_key = \"***"), "{text}");
}

#[test]
fn a_public_listener_needs_a_public_url() {
    // Browsers' Host headers are not trusted as our origin: listening beyond loopback without
    // public_url is refused, naming the fix.
    for listen in ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:443"] {
        let out = effective(&[], &["--config", "/dev/null", "--listen", listen]);
        assert_eq!(out.status.code(), Some(1), "{listen}");
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("public_url"), "{listen}: {said}");
    }
    let env = [("KONTOR_PUBLIC_URL", "https://chat.example.com")];
    let v = json(&effective(
        &env,
        &["--config", "/dev/null", "--listen", "0.0.0.0:8080"],
    ));
    assert_eq!(v["public_url"], "https://chat.example.com");
    // Loopback (a reverse proxy in front, or a local try-out) still works without it.
    json(&effective(
        &[],
        &["--config", "/dev/null", "--listen", "127.0.0.1:8080"],
    ));
}
