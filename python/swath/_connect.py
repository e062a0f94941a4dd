"""Connecting to ``swath serve`` over ADBC Flight SQL."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

DEFAULT_URI = "grpc://127.0.0.1:50051"
DEFAULT_USER = "swath"
ANONYMOUS_PASSWORD = "anonymous"


def _option_names() -> Dict[str, str]:
    """Map lower-case ``DatabaseOptions`` member names to ADBC option keys."""
    import adbc_driver_flightsql

    return {o.name.lower(): o.value for o in adbc_driver_flightsql.DatabaseOptions}


def _option_value(value: Any) -> str:
    """Render a Python value as the string ADBC options take."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_pem(value: Any) -> str:
    """Return PEM text: ``value`` itself when it is PEM, else the file it names."""
    if isinstance(value, bytes):
        value = value.decode("ascii")
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError("tls_root_certs must be PEM text or a path to a PEM file")
    if "-----BEGIN" in value:
        return value
    with open(value, encoding="ascii") as f:
        return f.read()


def database_options(
    uri: str = DEFAULT_URI,
    token: Optional[str] = None,
    user: Optional[str] = None,
    **db_kwargs: Any,
) -> Dict[str, str]:
    """The ADBC database options :func:`connect` passes for these arguments.

    Exposed so the authentication and TLS mapping can be inspected (and tested)
    without a server; see :func:`connect` for the meaning of the arguments.
    Returns a dict of ADBC option key to string value (``uri`` is not included).
    """
    names = _option_names()
    opts: Dict[str, str] = {}

    tls_root_certs = db_kwargs.pop("tls_root_certs", None)
    if tls_root_certs is not None:
        if not uri.startswith("grpc+tls://"):
            raise ValueError(
                f"tls_root_certs is only meaningful for grpc+tls:// URIs, not {uri!r}"
            )
        opts[names["tls_root_certs"]] = _read_pem(tls_root_certs)

    if user is not None or token is None:
        # Basic auth: the driver does the Flight handshake when the connection
        # opens and uses the bearer token the server returns (one server session
        # per connection).
        opts["username"] = user if user is not None else DEFAULT_USER
        opts["password"] = token if token is not None else ANONYMOUS_PASSWORD
    else:
        # A token alone: sent as a bearer header on every call (the user's shared
        # default session); no handshake.
        header = token if token.lower().startswith("bearer ") else f"Bearer {token}"
        opts[names["authorization_header"]] = header

    for key, value in db_kwargs.items():
        opts[names.get(key, key)] = _option_value(value)
    return opts


def connect(
    uri: str = DEFAULT_URI,
    token: Optional[str] = None,
    user: Optional[str] = None,
    **db_kwargs: Any,
):
    """Connect to ``swath serve`` and return an ADBC DB-API connection.

    The connection is the one :func:`adbc_driver_flightsql.dbapi.connect` returns:
    use ``conn.cursor()``, ``cursor.execute(sql)``, then
    ``cursor.fetch_arrow_table()`` (pyarrow), ``cursor.fetch_df()`` (pandas) or
    :func:`swath.to_xarray(cursor) <swath.to_xarray>`. Close it (or use it as a
    context manager) to end the server session.

    Authentication:

    * ``user`` given, or no ``token``: basic authentication with username
      ``user`` (default ``"swath"``) and password ``token`` (default
      ``"anonymous"``). The driver does the Flight handshake when the connection
      opens and the server answers with a bearer token for a new session, so each
      connection has its own session (its own tables).
    * only ``token`` given: every call carries ``authorization: Bearer <token>``
      and the connection uses the user's shared default session.

    Other keyword arguments are ADBC database options. ``tls_root_certs`` (PEM
    text, or the path of a PEM file) is accepted for ``grpc+tls://`` URIs. A
    keyword named like a member of :class:`adbc_driver_flightsql.DatabaseOptions`
    in lower case (``tls_skip_verify=True``, ``timeout_query=60``,
    ``with_max_msg_size=...``) is mapped to its option key; any other key (for
    example ``**{"adbc.flight.sql.rpc.call_header.x-trace": "1"}``) is passed
    as it is. Booleans become ``"true"``/``"false"``, other values ``str()``.
    ``autocommit`` (default ``True``; Swath has no transactions) goes to the
    DB-API connection.
    """
    import adbc_driver_flightsql.dbapi

    autocommit = db_kwargs.pop("autocommit", True)
    opts = database_options(uri, token=token, user=user, **db_kwargs)
    return adbc_driver_flightsql.dbapi.connect(uri, db_kwargs=opts, autocommit=autocommit)
