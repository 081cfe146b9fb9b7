"""SAT's XSD check with the compiled schema kept, instead of compiled for every document.

satcfdi compiles the set of XSD files a document needs on each validation (about 0.1 s of CPU,
most of issuing a CFDI); a tenant validates thousands of documents against the same two or three
sets (Ingreso, Pagos 2.0). The compiled schema is kept per set and per thread (an lxml schema
object is not shared between threads), built exactly as satcfdi builds it from its own schemas.
"""

from __future__ import annotations

import os
import threading

from lxml import etree
from satcfdi.exceptions import SchemaValidationError
from satcfdi.transform import SCHEMA_ROOT, SchemaCollector, cfdi_schemas
from satcfdi.utils import parser
from satcfdi.xelement import XElement

XS = "http://www.w3.org/2001/XMLSchema"
_local = threading.local()


def _compiled(base: tuple[str, ...]) -> etree.XMLSchema:
    cache: dict[tuple[str, ...], etree.XMLSchema] = _local.__dict__.setdefault("schemas", {})
    schema = cache.get(base)
    if schema is None:
        root = etree.fromstring(
            f'<xs:schema xmlns:xs="{XS}"/>',
            base_url=os.path.join(SCHEMA_ROOT, "schema.xsd"),
            parser=parser,
        )
        for location in base:
            etree.SubElement(
                root, f"{{{XS}}}import", attrib={"namespace": "", "schemaLocation": location}
            )
        schema = cache[base] = etree.XMLSchema(root)
    return schema


def validated_xml(element: XElement) -> etree._Element:
    """``element`` as XML, checked against SAT's schemas; raises satcfdi's
    :class:`SchemaValidationError` (with lxml's error log) when it does not conform."""
    xml = element.to_xml()
    collector = SchemaCollector()
    cfdi_schemas[element.tag](collector, element)
    schema = _compiled(tuple(collector.base))
    if not schema.validate(xml):
        raise SchemaValidationError(schema.error_log)
    return xml
