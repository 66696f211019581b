# pg_cron_job: scheduled SQL jobs for Amazon RDS / Aurora PostgreSQL.
#   make build   - the Lambda package (.build/<arch>/pg-cron-job.zip)
#   make test    - every check CI runs
#   make demo    - one job end to end on a local PostgreSQL + local AWS API server
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ARCH ?= x86_64
# Offline provider mirror; empty means a normal `terraform init` from the registry.
TF_PLUGIN_DIR ?= $(if $(wildcard /opt/tf-plugins),/opt/tf-plugins,)
# Amazon RDS CA bundle to ship in the package (PEM). When empty, `make build` downloads it.
RDS_CA_BUNDLE ?=
RDS_CA_URL ?= https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
# SHA-256 of the bundle you trust; when set, a downloaded or given bundle must match it.
RDS_CA_SHA256 ?=
# Set to 1 to build a package without a CA bundle (tests supply their own CA via PGSSLROOTCERT).
ALLOW_NO_CA_BUNDLE ?= 0
# Directory whose *.sql files go into the package under sql/ (for SQL_FILE / sql_file).
SQL_DIR ?= examples/complete/sql
# Highest glibc symbol version bootstrap may need (Amazon Linux 2023 has 2.34).
MAX_GLIBC ?= 2.34

ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export CARGO_TARGET_DIR ?= $(ROOT)/target

ifeq ($(ARCH),x86_64)
  RUST_TARGET := x86_64-unknown-linux-gnu
else ifeq ($(ARCH),arm64)
  RUST_TARGET := aarch64-unknown-linux-gnu
else
  $(error ARCH must be x86_64 or arm64, got '$(ARCH)')
endif
# zig links against this glibc version (older than Amazon Linux 2023's, so the binary runs there).
ZIG_TARGET := $(RUST_TARGET).2.17
BUILD_DIR := $(ROOT)/.build/$(ARCH)
PACKAGE := $(BUILD_DIR)/pg-cron-job.zip

.PHONY: help venv rust-target build package test lint unit integration tf-check tf-test checkov e2e demo bench clean

help:
	@echo "make build [ARCH=x86_64|arm64] [RDS_CA_BUNDLE=path] [SQL_DIR=dir]  build the Lambda package"
	@echo "make test                                                         run every check (what CI runs)"
	@echo "make demo                                                         one job end to end, locally"
	@echo "make bench                                                        cold-run benchmark vs psql"

$(VENV)/.installed: test/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r test/requirements.txt
	touch $@

venv: $(VENV)/.installed

rust-target:
	@rustup target list --installed | grep -qx $(RUST_TARGET) || rustup target add $(RUST_TARGET)

$(BUILD_DIR)/global-bundle.pem:
	@mkdir -p $(BUILD_DIR)
	@if [ -n "$(RDS_CA_BUNDLE)" ]; then \
	  cp "$(RDS_CA_BUNDLE)" $@.tmp; \
	elif curl -fsSL --max-time 20 -o $@.tmp "$(RDS_CA_URL)"; then \
	  echo "downloaded the Amazon RDS CA bundle"; \
	else \
	  rm -f $@.tmp; echo "no RDS CA bundle: offline and RDS_CA_BUNDLE is not set"; \
	fi
	@if [ -f $@.tmp ]; then \
	  sum=$$(sha256sum $@.tmp | cut -d' ' -f1); echo "RDS CA bundle sha256: $$sum"; \
	  if [ -n "$(RDS_CA_SHA256)" ] && [ "$$sum" != "$(RDS_CA_SHA256)" ]; then \
	    echo "ERROR: CA bundle sha256 $$sum does not match RDS_CA_SHA256=$(RDS_CA_SHA256)"; rm -f $@.tmp; exit 1; fi; \
	  mv $@.tmp $@; \
	fi

build: venv rust-target $(BUILD_DIR)/global-bundle.pem
	cargo lambda build --release --output-format zip --target $(ZIG_TARGET) \
	  --features vendored --bin pg-cron-job
	@mkdir -p $(BUILD_DIR) && cp $(CARGO_TARGET_DIR)/lambda/pg-cron-job/bootstrap.zip $(BUILD_DIR)/cargo-lambda.zip
	@rm -rf $(BUILD_DIR)/bin && mkdir -p $(BUILD_DIR)/bin && cd $(BUILD_DIR)/bin && $(PY) -m zipfile -e ../cargo-lambda.zip . && chmod +x bootstrap
	@glibc=$$(objdump -T $(BUILD_DIR)/bin/bootstrap | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1); \
	  echo "bootstrap needs glibc $$glibc (limit $(MAX_GLIBC))"; \
	  if [ "$$(printf '%s\n%s\n' "$$glibc" "$(MAX_GLIBC)" | sort -V | tail -n1)" != "$(MAX_GLIBC)" ]; then \
	    echo "ERROR: bootstrap needs glibc $$glibc > $(MAX_GLIBC): it would not start on Amazon Linux 2023"; exit 1; fi
	@if [ ! -f $(BUILD_DIR)/global-bundle.pem ] && [ "$(ALLOW_NO_CA_BUNDLE)" != 1 ]; then \
	  echo "ERROR: no Amazon RDS CA bundle to ship. Pass RDS_CA_BUNDLE=/path/to/global-bundle.pem"; \
	  echo "       (or ALLOW_NO_CA_BUNDLE=1 when every job sets PGSSLROOTCERT itself)"; exit 1; fi
	$(PY) lambda/package.py $(PACKAGE) $(BUILD_DIR)/cargo-lambda.zip \
	  $(if $(wildcard $(BUILD_DIR)/global-bundle.pem),--ca-bundle $(BUILD_DIR)/global-bundle.pem,) \
	  $(if $(SQL_DIR),--sql-dir $(SQL_DIR),)
	@echo "package: $(PACKAGE) ($$(du -h $(PACKAGE) | cut -f1), $$(stat -c %s $(PACKAGE)) bytes, $(ARCH))"

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	terraform fmt -check -recursive .

unit:
	cargo test

# The runner against a real TLS PostgreSQL and moto on loopback.
integration: venv
	cargo build
	PG_CRON_JOB_BIN=$(CARGO_TARGET_DIR)/debug/pg-cron-job $(PY) -m pytest -q test/integration

tf-check:
	TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" test/tf-check.sh

tf-test:
	cd modules/pg_cron_job && terraform init -backend=false -input=false $(if $(TF_PLUGIN_DIR),-plugin-dir="$(TF_PLUGIN_DIR)",) >/dev/null && terraform test

checkov: venv
	checkov -d modules/pg_cron_job --framework terraform --quiet --compact --skip-download

e2e: venv
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	cargo build
	PG_CRON_JOB_PACKAGE=$(PACKAGE) PG_CRON_JOB_BIN=$(CARGO_TARGET_DIR)/debug/pg-cron-job TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" \
	  $(PY) -m pytest -q test/e2e

test: venv lint unit integration tf-check tf-test checkov e2e
	@echo "all checks passed"

demo: venv
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	PG_CRON_JOB_PACKAGE=$(PACKAGE) TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(PY) test/demo.py

# Measures the shipped bootstrap (release, static OpenSSL) on this machine.
bench: venv
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	PG_CRON_JOB_BIN=$(BUILD_DIR)/bin/bootstrap $(PY) test/bench/bench.py

clean:
	rm -rf .build target
