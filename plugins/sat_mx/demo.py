"""Settings for the demo tenant: SAT's public test CSD through the local fake PAC.

Development mode only (the fake PAC refuses to work otherwise). EKU9003173C9 is SAT's fictitious
test taxpayer; its documents have no fiscal validity.
"""

from __future__ import annotations

import base64

from recaudo.plugins.sat_mx.fake_pac import TEST_CSD, TEST_CSD_PASSWORD


def demo_settings() -> dict[str, str]:
    """Everything ``sat_mx`` needs to issue in the demo (secrets included: the host encrypts)."""
    return {
        "rfc": "EKU9003173C9",
        "legal_name": "ESCUELA KEMPER URGATE",
        "regime": "601",
        "postal_code": "42501",
        "csd_certificate": base64.b64encode((TEST_CSD / "EKU9003173C9.cer").read_bytes()).decode(),
        "csd_key": base64.b64encode((TEST_CSD / "EKU9003173C9.key").read_bytes()).decode(),
        "csd_password": TEST_CSD_PASSWORD,
        "series": "A",
        "payment_series": "P",
        "pac": "fake",
        "pac_test_environment": "true",
        "auto_issue": "true",
        "exchange_rates": "USD=17.50;EUR=19.00",
    }
