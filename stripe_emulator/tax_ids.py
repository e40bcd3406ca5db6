"""Customer tax IDs: the types Stripe accepts in the pinned version, the formats the
emulator checks, and what Stripe derives from a value (country, verification).

Formats follow the examples in Stripe's "Customer tax IDs" guide (e.g. gb_vat
`GB123456789`, eu_vat `DE123456789` or `FRAB123456789`, ch_vat `CHE-123.456.789 MWST`,
no_vat `123456789MVA`, us_ein `12-3456789`, au_abn `12345678912`, ca_bn `123456789`).
Spaces are ignored when checking and letters may be lower case; the value is stored as
sent (less surrounding spaces): Stripe documents no normalisation. Types without a
pattern here accept any non-empty value.
"""
import re

from .errors import InvalidRequest

# The `type` enum of POST /v1/customers/{id}/tax_ids and `tax_id_data[][type]`
# (stripe-python 16.1, 2026-10-28.endive).
TYPES = (
    "ad_nrt", "ae_trn", "al_tin", "am_tin", "ao_tin", "ar_cuit", "au_abn", "au_acn",
    "au_arn", "au_wpn", "aw_tin", "az_tin", "ba_tin", "bb_tin", "bd_bin", "bf_ifu",
    "bg_uic", "bh_vat", "bj_ifu", "bo_tin", "br_cnpj", "br_cpf", "bs_tin", "bw_vat",
    "by_tin", "ca_bn", "ca_gst_hst", "ca_pst_bc", "ca_pst_mb", "ca_pst_sk", "ca_qst",
    "cd_nif", "ch_uid", "ch_vat", "ci_vat", "cl_tin", "cm_niu", "cn_tin", "co_nit",
    "cr_tin", "cv_nif", "cz_dic", "de_stn", "do_rcn", "ec_ruc", "eg_tin", "es_cif",
    "et_tin", "eu_oss_vat", "eu_vat", "fo_vat", "fr_siren", "fr_siret", "fr_spi",
    "gb_vat", "ge_vat", "gh_tin", "gi_tin", "gn_nif", "hk_br", "hr_oib", "hu_tin",
    "ic_nif", "id_npwp", "il_vat", "in_gst", "is_kt", "is_vat", "it_cf", "jp_cn",
    "jp_rn", "jp_trn", "ke_pin", "kg_tin", "kh_tin", "kr_brn", "kz_bin", "la_tin",
    "li_uid", "li_vat", "lk_vat", "ma_vat", "md_cf", "md_vat", "me_pib", "mk_vat",
    "mr_nif", "mu_vat", "mx_rfc", "my_frp", "my_itn", "my_sst", "mz_nuit", "ng_tin",
    "no_vat", "no_voec", "np_pan", "nz_bn", "nz_gst", "om_vat", "pe_ruc", "ph_tin",
    "pl_nip", "pt_nif", "py_ruc", "ro_tin", "rs_pib", "ru_inn", "ru_kpp", "sa_vat",
    "sg_gst", "sg_uen", "si_tin", "sm_coe", "sn_ninea", "sr_fin", "sv_nit", "th_vat",
    "tj_tin", "tr_tin", "tt_bir", "tt_vat", "tw_vat", "tz_vat", "ua_vat", "ug_tin",
    "us_ein", "uy_ruc", "uz_tin", "uz_vat", "ve_rif", "vn_tin", "za_vat", "zm_tin",
    "zw_tin",
)

# EU VAT numbers: the country prefix (EL for Greece, XI for Northern Ireland) and the
# national part.
_EU = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}", "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]", "FI": r"\d{8}", "FR": r"[A-Z0-9]{2}\d{9}",
    "HR": r"\d{11}", "HU": r"\d{8}|\d{11}", "IE": r"\d[A-Z0-9+*]\d{5}[A-Z]{1,2}",
    "IT": r"\d{11}", "LT": r"\d{9}|\d{12}", "LU": r"\d{8}", "LV": r"\d{11}",
    "MT": r"\d{8}", "NL": r"\d{9}B\d{2}", "PL": r"\d{10}", "PT": r"\d{9}",
    "RO": r"\d{2,10}", "SE": r"\d{12}", "SI": r"\d{8}", "SK": r"\d{10}",
    "XI": r"\d{9}|\d{12}|(GD|HA)\d{3}",
}
_UK = r"\d{9}|\d{12}|(GD|HA)\d{3}"
FORMATS = {
    "eu_vat": "|".join(f"{prefix}({rest})" for prefix, rest in _EU.items()),
    "gb_vat": f"GB({_UK})",
    "us_ein": r"\d{2}-?\d{7}",
    "au_abn": r"\d{11}",
    "ca_bn": r"\d{9}",
    "ch_vat": r"CHE-?\d{3}\.?\d{3}\.?\d{3}(MWST|TVA|IVA)?",
    "no_vat": r"\d{9}MVA",
}
_COMPILED = {kind: re.compile(f"(?:{pattern})") for kind, pattern in FORMATS.items()}

# The types Stripe verifies with a government register; the others' verification
# status is `unavailable`.
VERIFIED_TYPES = ("au_abn", "eu_vat", "gb_vat")
_COUNTRY_ALIASES = {"EL": "GR", "XI": "GB"}


def check(type_, value, param="value"):
    """The value to store, or Stripe's `tax_id_invalid` error."""
    value = (value or "").strip()
    pattern = _COMPILED.get(type_)
    compact = re.sub(r"\s+", "", value).upper()
    if not value or (pattern is not None and not pattern.fullmatch(compact)):
        raise InvalidRequest(f"Invalid value for {type_}.", code="tax_id_invalid",
                             param=param)
    return value


def country(type_, value):
    """The ISO country of a tax ID: an EU VAT number's prefix, else the type's."""
    if type_ == "eu_vat":
        prefix = value.strip()[:2].upper()
        return _COUNTRY_ALIASES.get(prefix, prefix)
    return type_.split("_")[0].upper()


def verification(type_):
    """A new tax ID's `verification`: pending for the types Stripe verifies."""
    status = "pending" if type_ in VERIFIED_TYPES else "unavailable"
    return {"status": status, "verified_address": None, "verified_name": None}
