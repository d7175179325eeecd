//! `kontor doctor` finds what is wrong and says how to fix it.

use crate::common::Kontor;

#[test]
fn doctor_passes_on_a_healthy_data_dir_and_detects_a_corrupted_tenant() {
    let (k, _) = Kontor::with_tenant();
    k.ok(&["backup", "create"]);
    let run = k.run(&["doctor", "--json"]);
    let out: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    // Free space depends on the machine the test runs on; everything else must pass.
    let failed: Vec<&serde_json::Value> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false && c["what"] != "free disk space")
        .collect();
    assert!(failed.is_empty(), "{out}");
    // One flipped byte inside a page of the tenant's database.
    let uuid = k.json(&["tenant", "show", "acme"])["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let file = k.data_dir().join("tenants").join(format!("{uuid}.db"));
    let mut bytes = std::fs::read(&file).unwrap();
    let pos = bytes.len() - 100;
    bytes[pos] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let run = k.run(&["doctor"]);
    assert_eq!(run.status.code(), Some(1));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("FAIL  tenant acme"), "{text}");
    assert!(
        text.contains("kontor backup restore"),
        "says how to fix it: {text}"
    );
}

#[test]
fn doctor_reports_loose_permissions_and_missing_backups() {
    use std::os::unix::fs::PermissionsExt;
    let (k, _) = Kontor::with_tenant();
    std::fs::set_permissions(k.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        k.data_dir().join("master.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let run = k.run(&["doctor", "--json"]);
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let failed: Vec<String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["what"].as_str().unwrap().to_string())
        .collect();
    for what in [
        "data directory permissions",
        "master key file",
        "backup key file",
        "last backup",
    ] {
        assert!(failed.iter().any(|f| f == what), "{what} not reported: {v}");
    }
    assert!(v.to_string().contains("chmod 700"));
}

#[test]
fn doctor_reads_the_tls_certificates_expiry() {
    let (k, _) = Kontor::with_tenant();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(5);
    params.not_after = soon;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = k.dir.path().join("cert.pem");
    let key_path = k.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert_path.display(),
            key_path.display()
        ),
    )
    .unwrap();
    let run = k.run(&["doctor"]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("FAIL  TLS certificate: expires"), "{text}");
    assert!(
        text.contains("(4 days)") || text.contains("(5 days)"),
        "{text}"
    );
}
