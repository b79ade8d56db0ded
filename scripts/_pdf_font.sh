# Sourced by the scripts: the result documents' PDFs embed a Chinese TrueType font, Debian's
# fonts-wqy-zenhei (kuaiban/documents/pdf.py says why; KUAIBAN_PDF_FONT may name another).
# Installed here when missing and we are root with apt-get, as scripts/test does for chromium.
kuaiban_pdf_font=${KUAIBAN_PDF_FONT:-/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc}
if [ ! -f "$kuaiban_pdf_font" ]; then
  if [ -z "${KUAIBAN_PDF_FONT:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's fonts-wqy-zenhei for the result documents' PDFs"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null
  else
    echo "error: the result documents need a Chinese font at $kuaiban_pdf_font:" \
      "sudo apt-get install fonts-wqy-zenhei (or set KUAIBAN_PDF_FONT to a TrueType font)" >&2
    exit 1
  fi
fi
