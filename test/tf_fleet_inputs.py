#!/usr/bin/env python3
"""The jobs map (modules/pg_cron_jobs) cannot drift from the modules it wraps: every input of
modules/pg_cron_job is a jobs attribute (local.job_attributes) passed on by `module "job"`, or
one the fleet sets itself (listed below, with why); every input of modules/pg_cron_job_shared is
a fleet input of the same name passed on by `module "shared"`, or one the fleet computes. Exits
1 naming each difference."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
JOB, SHARED, FLEET = (ROOT / "modules" / m for m in ("pg_cron_job", "pg_cron_job_shared", "pg_cron_jobs"))

# Job inputs the fleet sets for every job rather than taking per job.
FLEET_SET_JOB_INPUTS = {
    "name": "<fleet>-<key>, or the entry's name (a jobs attribute too)",
    "shared": "the fleet's shared layer",
    "vpc_id": "the fleet's VPC",
    "subnet_ids": "the fleet's subnets",
    "database_port": "the fleet's database port (one database)",
    # A job on its own creates its shared layer from these; in a fleet the shared layer has them.
    "database_security_group_id": "shared layer",
    "create_database_ingress_rule": "shared layer",
    "database_cidr_blocks": "shared layer",
    "secretsmanager_endpoint": "shared layer",
    "secretsmanager_endpoint_security_group_id": "shared layer",
    "https_egress_cidr_blocks": "shared layer",
    # The map checks its jobs' groups against its own existing_schedule_groups (variables.tf) and
    # passes every job's group to the job as shared.schedule_groups.
    "existing_schedule_groups": "shared layer (schedule_groups), checked by the map",
    "create_s3_gateway_endpoint": "shared layer",
    "s3_gateway_route_table_ids": "shared layer",
    "create_alarm_topic": "shared layer",
    "alarm_topic_arn": "shared layer",
    "alarm_emails": "shared layer",
    "create_kms_key": "shared layer",
    "failure_queue_retention_seconds": "shared layer",
    "kms_key_deletion_window_days": "shared layer",
    "alarm_kms_key_arn": "shared layer (kms_key_arn)",
    "create_secretsmanager_endpoint": "shared layer (secretsmanager_endpoint)",
    "create": "the fleet's create",
    "create_role": "the fleet's role_per_job",
    "role_arn": "the fleet's shared role (role_per_job = false)",
    "role_policy_type": "the fleet's role_policy_type (one for every role of the fleet)",
}
# Shared-layer inputs the fleet computes from its jobs.
FLEET_COMPUTED_SHARED_INPUTS = {
    "function_names": "the jobs' function names",
    "function_name_prefix": "<fleet>-",
    "watched_schedule_groups": "the jobs' schedule groups",
    "package_path": "defaults.package_path or package_path",
    "architecture": "defaults.architecture",
    "log_retention_days": "defaults.log_retention_days",
}


def variables(module: pathlib.Path) -> set[str]:
    return set(re.findall(r'^variable "([^"]+)"', (module / "variables.tf").read_text(), re.M))


def module_arguments(text: str, name: str) -> set[str]:
    block = re.search(rf'^module "{name}" {{\n(.*?)^}}', text, re.M | re.S)
    if not block:
        return set()
    return set(re.findall(r"^  ([a-z_0-9]+)\s*=", block.group(1), re.M)) - {"source", "for_each", "count"}


def job_attributes() -> set[str]:
    text = (FLEET / "variables.tf").read_text()
    block = re.search(r"job_attributes = \[(.*?)\]", text, re.S)
    return set(re.findall(r'"([a-z_0-9]+)"', block.group(1))) if block else set()


def main() -> int:
    problems = []
    main_tf = (FLEET / "main.tf").read_text()
    job_args, shared_args = module_arguments(main_tf, "job"), module_arguments(main_tf, "shared")
    attributes, fleet_inputs = job_attributes(), variables(FLEET)
    for v in sorted(variables(JOB)):
        if v in attributes:
            if v not in job_args:
                problems.append(f"jobs attribute {v}: not passed on by module \"job\" in modules/pg_cron_jobs/main.tf")
        elif v not in FLEET_SET_JOB_INPUTS:
            problems.append(f"modules/pg_cron_job input {v}: not a jobs attribute (local.job_attributes in modules/pg_cron_jobs/variables.tf)")
        elif not FLEET_SET_JOB_INPUTS[v].startswith("shared layer") and v not in job_args and v != "create":
            problems.append(f"modules/pg_cron_job input {v}: the fleet should set it in module \"job\"")
    for a in sorted(attributes - variables(JOB)):
        problems.append(f"jobs attribute {a}: modules/pg_cron_job has no such input")
    for v in sorted(variables(SHARED)):
        if v in FLEET_COMPUTED_SHARED_INPUTS:
            if v not in shared_args:
                problems.append(f"modules/pg_cron_job_shared input {v}: not computed in module \"shared\"")
            continue
        if v not in fleet_inputs:
            problems.append(f"modules/pg_cron_job_shared input {v}: modules/pg_cron_jobs has no input of that name")
        if v not in shared_args:
            problems.append(f"modules/pg_cron_job_shared input {v}: not passed on by module \"shared\"")
    for p in problems:
        print("FAIL", p)
    print(f"fleet inputs: {len(attributes)} jobs attributes, {len(variables(SHARED))} shared-layer inputs checked, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
