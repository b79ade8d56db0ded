"""Reading the portal's own SVG charts in tests."""

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """Parse our own generated markup (raises on malformed XML)."""
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def texts(root) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]
