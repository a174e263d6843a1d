"""Runs the test OpenID Connect provider: ``python -m tests.support.oidc_provider.serve PORT REDIRECT_URI``
(with OIDC_PROVIDER_DB naming a fresh SQLite file). Migrates, creates the signing key, one
confidential client (code flow; PKCE is checked whenever the request carried a challenge), and
the users of the SSO tests with their groups; then serves on 127.0.0.1:PORT until killed."""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

CLIENT_ID, CLIENT_SECRET = "mini-soar", "mini-soar-client-secret"
USERS = {  # username: (password, groups)
    "olivia": ("olivia-pass-1", ["soc-analysts", "tier1"]),
    "oscar": ("oscar-pass-1", ["marketing"]),
}


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def main() -> None:
    port, redirect_uri = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.oidc_provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    from oidc_provider.models import Client, ResponseType

    call_command("migrate", verbosity=0)
    call_command("creatersakey", stdout=open(os.devnull, "w"))  # noqa: SIM115
    client = Client.objects.create(name="Mini-SOAR", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                   client_type="confidential", jwt_alg="RS256", require_consent=False,
                                   _redirect_uris=redirect_uri, _scope="openid email profile groups")
    client.response_types.add(ResponseType.objects.get(value="code"))
    for username, (password, groups) in USERS.items():
        user = User.objects.create_user(username, email=f"{username}@example.org", password=password,
                                        first_name=username.title())
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
    server = make_server("127.0.0.1", port, get_wsgi_application(), server_class=ThreadingServer,
                         handler_class=QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
