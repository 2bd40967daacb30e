"""What `serve` prints on every start: where the website, playground and docs are, and where the key is."""
import os

from . import public_url

DEV_KEY_FILE = "dev-api-key"  # written by scripts/run beside the database, readable by its owner only
DEV_EMAIL, DEV_PASSWORD = "dev@localhost", "dev"


def text(app, base, host):
    """The start-up lines after `serving on ...` (never a secret: the key's file, not the key)."""
    key_file = os.path.join(app.instance_path, DEV_KEY_FILE)
    dev = os.path.exists(key_file)
    lines = [f"  website     {base}/" + (f"   (development login: {DEV_EMAIL} / {DEV_PASSWORD})" if dev else ""),
             f"  playground  {base}/api/v1/docs",
             f"  docs        {base}/docs"]
    if dev:
        lines += [f"  API key     kept in {key_file}; for the vilvik command and the SDK:",
                  f'              export VILVIK_API_KEY="$(cat {key_file})" VILVIK_BASE_URL={base}']
    else:
        lines.append("  API keys    on the website's Keys page, or `vilvik-server create-key EMAIL`")
    if public_url.is_wildcard(host) and not app.config.get("VILVIK_PUBLIC_URL_SET"):
        lines.append(f"  note        listening on every interface, but the URLs the API returns say {base}: "
                     "set PUBLIC_URL to the name clients use")
    return "\n".join(lines)
