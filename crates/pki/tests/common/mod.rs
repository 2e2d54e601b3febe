//! A test PKI made in code: roots, intermediates and leaves with chosen keys, dates and digests.
#![allow(dead_code, reason = "each test binary uses a different part of this module")]

use std::path::Path;
use std::process::Command;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509, X509Builder, X509Name};

const DAY: i64 = 86_400;

/// A certificate with its private key.
pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Issued {
    pub fn cert_pem(&self) -> String {
        String::from_utf8(self.cert.to_pem().unwrap()).unwrap()
    }

    pub fn key_pkcs8_pem(&self) -> String {
        String::from_utf8(self.key.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    pub fn key_pkcs8_der(&self) -> Vec<u8> {
        self.key.private_key_to_pkcs8().unwrap()
    }
}

/// How to make one certificate.
pub struct Spec<'a> {
    pub cn: &'a str,
    pub key: PKey<Private>,
    pub issuer: Option<&'a Issued>,
    pub ca: bool,
    /// Validity as days from now: (start, end).
    pub days: (i64, i64),
    pub digest: MessageDigest,
    pub sans: &'a [&'a str],
}

impl<'a> Spec<'a> {
    pub fn new(cn: &'a str, key: PKey<Private>) -> Self {
        Spec {
            cn,
            key,
            issuer: None,
            ca: false,
            days: (-1, 365),
            digest: MessageDigest::sha256(),
            sans: &[],
        }
    }

    pub fn issued_by(mut self, issuer: &'a Issued) -> Self {
        self.issuer = Some(issuer);
        self
    }

    pub fn ca(mut self) -> Self {
        self.ca = true;
        self
    }

    pub fn days(mut self, start: i64, end: i64) -> Self {
        self.days = (start, end);
        self
    }

    pub fn digest(mut self, digest: MessageDigest) -> Self {
        self.digest = digest;
        self
    }

    pub fn sans(mut self, sans: &'a [&'a str]) -> Self {
        self.sans = sans;
        self
    }

    pub fn build(self) -> Issued {
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "tlsdeck tests").unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, self.cn).unwrap();
        let name = name.build();

        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
        b.set_subject_name(&name).unwrap();
        let issuer_name = self.issuer.map_or(&*name, |i| i.cert.subject_name());
        b.set_issuer_name(issuer_name).unwrap();
        b.set_pubkey(&self.key).unwrap();
        let now = chrono::Utc::now().timestamp();
        b.set_not_before(&Asn1Time::from_unix(now + self.days.0 * DAY).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::from_unix(now + self.days.1 * DAY).unwrap()).unwrap();
        if self.ca {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
        }
        if !self.sans.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for s in self.sans {
                match s.strip_prefix("IP:") {
                    Some(ip) => san.ip(ip),
                    None => san.dns(s),
                };
            }
            let ext = san.build(&b.x509v3_context(None, None)).unwrap();
            b.append_extension(ext).unwrap();
        }
        let signer = self.issuer.map_or(&self.key, |i| &i.key);
        b.sign(signer, self.digest).unwrap();
        Issued { cert: b.build(), key: self.key }
    }
}

pub fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

pub fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

pub fn root(cn: &str) -> Issued {
    Spec::new(cn, ec_key()).ca().days(-1, 3650).build()
}

pub fn intermediate(cn: &str, issuer: &Issued) -> Issued {
    Spec::new(cn, ec_key()).ca().issued_by(issuer).days(-1, 1825).build()
}

pub fn leaf(cn: &str, issuer: &Issued) -> Issued {
    Spec::new(cn, ec_key()).issued_by(issuer).sans(&["leaf.test"]).build()
}

/// Root, intermediate and leaf, all EC P-256.
pub struct Pki {
    pub root: Issued,
    pub intermediate: Issued,
    pub leaf: Issued,
}

pub fn pki() -> Pki {
    let root = root("Test Root");
    let intermediate = intermediate("Test Intermediate", &root);
    let leaf = leaf("leaf.test", &intermediate);
    Pki { root, intermediate, leaf }
}

/// Runs the `openssl` command in `dir`, failing the test when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs one `#[ignore]`d test of this binary in a child process with extra environment,
/// for what must not leak into this process (environment variables, OpenSSL providers).
pub fn run_child(test: &str, envs: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", test, "--ignored", "--nocapture", "--test-threads=1"])
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child {test} failed:\n{stdout}");
    assert!(stdout.contains("1 passed"), "child {test} did not run:\n{stdout}");
}

/// Writes `contents` into `dir/name` and returns the path as text.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}
