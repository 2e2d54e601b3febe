//! A freshly generated key and self-signed certificate, for the default keystore.

use std::net::IpAddr;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509Builder, X509Name};

use crate::certificate::{Certificate, describe};
use crate::error::PkiError;
use crate::key::PrivateKey;

/// An EC P-256 key and a certificate for `common_name`, self-signed, valid for `days` days.
///
/// The certificate names `common_name` as its subject CN; its subject alternative names are
/// `common_name` and `alt_names` (`IP:` for IP addresses, else `DNS:`). It is usable for
/// client and server authentication.
pub fn generate_self_signed(
    common_name: &str,
    alt_names: &[&str],
    days: u32,
) -> Result<(Certificate, PrivateKey), PkiError> {
    let fail = |e: ErrorStack| PkiError::generation(&e);
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(fail)?;
    let key = EcKey::generate(&group).and_then(PKey::from_ec_key).map_err(fail)?;
    let cert = self_signed(&key, common_name, alt_names, days).map_err(fail)?;
    Ok((describe(&cert, 1)?, PrivateKey::from_pkey(&key)?))
}

fn self_signed(
    key: &PKey<Private>,
    common_name: &str,
    alt_names: &[&str],
    days: u32,
) -> Result<X509, ErrorStack> {
    let mut name = X509Name::builder()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    let name = name.build();

    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(key)?;
    let (start, end) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(days)?);
    builder.set_not_before(&start)?;
    builder.set_not_after(&end)?;

    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    let usage = KeyUsage::new().critical().digital_signature().key_agreement().build()?;
    builder.append_extension(usage)?;
    builder.append_extension(ExtendedKeyUsage::new().server_auth().client_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    for name in std::iter::once(&common_name).chain(alt_names) {
        match name.parse::<IpAddr>() {
            Ok(_) => san.ip(name),
            Err(_) => san.dns(name),
        };
    }
    let san = san.build(&builder.x509v3_context(None, None))?;
    builder.append_extension(san)?;

    builder.sign(key, MessageDigest::sha256())?;
    Ok(builder.build())
}

/// A positive 127-bit serial number, as RFC 5280 asks for unpredictable serials.
fn random_serial() -> Result<Asn1Integer, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    serial.to_asn1_integer()
}
