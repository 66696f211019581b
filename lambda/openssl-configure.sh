#!/bin/sh
# OpenSSL's Configure for the vendored (static) OpenSSL of the Lambda package. openssl-src runs
# "$OPENSSL_SRC_PERL ./Configure <its options>" (the Makefile points OPENSSL_SRC_PERL here); this
# adds the features the package never uses, so they are neither compiled (about a third of
# OpenSSL's build, twice per `make test`: once per architecture) nor shipped. The package uses
# OpenSSL for one thing: a TLS 1.2/1.3 client session to PostgreSQL with certificate
# verification (RSA and ECDSA chains, the RDS CA bundle) and tls-server-end-point channel
# binding. Each feature below is one rust-openssl compiles out when OpenSSL lacks it
# (osslconf cfgs) or never binds; the integration, fault and CA-bundle suites run the result.
set -eu
case "${1:-}" in
  ./Configure | Configure)
    exec perl "$@" \
      no-quic no-cmp no-ts no-cms no-ocsp no-http no-ct no-srp no-srtp no-psk \
      no-sm2 no-sm3 no-sm4 no-aria no-whirlpool no-mdc2 no-rmd160 no-rc2 no-rc4 no-bf \
      no-cast no-scrypt no-argon2 no-siphash no-siv no-ec2m no-rfc3779 no-ssl-trace \
      no-nextprotoneg no-ocb no-gost no-ui-console no-ml-dsa no-slh-dsa
    ;;
  *) exec perl "$@" ;;
esac
