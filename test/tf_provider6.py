#!/usr/bin/env python3
"""The modules and examples use nothing the AWS provider's version 6 upgrade guide deprecates or
removes (website/docs/guides/version-6-upgrade.html.markdown of hashicorp/terraform-provider-aws),
so one root module can use them with provider 5.100+ and with 6.x (terraform-aws-modules'
current releases need >= 6). Only 5.100.0 can be installed here: this is a check of the source
against the guide's list, not a plan with provider 6.

Each rule names the guide's section. Exit 1 with file:line for every use found."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (pattern, what the guide says)
RULES = [
    (r"data\.aws_region\.[\w-]+(\[[^\]]*\])?\.name\b",
     "Data Source aws_region: `name` has been deprecated (use `id`, which is the region in 5.x and 6.x)"),
    (r"\baws_s3_bucket\.[\w-]+(\[[^\]]*\])?\.region\b",
     "Resource aws_s3_bucket: `region` is now Enhanced Region Support; use `bucket_region` (6.x) or the provider's region"),
    (r"data\.aws_s3_bucket\.[\w-]+(\[[^\]]*\])?\.region\b",
     "Data Source aws_s3_bucket: use `bucket_region` instead of `region`"),
    (r"data\.aws_vpc_endpoint_service\.[\w-]+(\[[^\]]*\])?\.region\b",
     "Data Source aws_vpc_endpoint_service: `region` deprecated, use `service_region`"),
    (r"data\.aws_vpc_peering_connection\.[\w-]+(\[[^\]]*\])?\.region\b",
     "Data Source aws_vpc_peering_connection: `region` deprecated, use `requester_region`"),
    (r'resource\s+"aws_(simpledb_domain|worklink_\w+|opsworks_\w+|redshift_service_account)"',
     "removed resources (SimpleDB, Worklink, OpsWorks Stacks, aws_redshift_service_account)"),
    (r'resource\s+"aws_(elastictranscoder_\w+|evidently_\w+|media_store_\w+|kinesis_analytics_application)"',
     "deprecated resources (Elastic Transcoder, Evidently, MediaStore, Kinesis Analytics v1)"),
    (r"^\s*vpc\s*=\s*true", "Resource aws_eip: `vpc` removed, use `domain = \"vpc\"`"),
    (r"^\s*log_group_name\s*=.*#?.*aws_flow_log|resource\s+\"aws_flow_log\"[^}]*log_group_name",
     "Resource aws_flow_log: `log_group_name` removed, use `log_destination`"),
    (r"^\s*(cpu_core_count|cpu_threads_per_core|block_duration_minutes|inference_accelerator|elastic_gpu_specifications|elastic_inference_accelerator|kibana_endpoint|s3_us_east_1_regional_endpoint|reset_on_delete)\s*=",
     "arguments removed in 6.0 (aws_instance, aws_spot_instance_request, ECS, launch templates, OpenSearch, provider, API Gateway)"),
    (r"^\s*(compute_environment_name|compute_environment_name_prefix)\s*=",
     "aws_batch_compute_environment: renamed to `name` / `name_prefix`"),
    (r"\bendpoints\s*\{[^}]*\b(opsworks|simpledb|sdb|worklink)\s*=", "provider endpoints removed in 6.0"),
]
VERSION = re.compile(r'source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*"([^"]+)"')


def main() -> int:
    problems = []
    files = sorted(p for d in ("modules", "examples") for p in (ROOT / d).rglob("*.tf")
                   if ".terraform" not in p.parts)
    for path in files:
        text = path.read_text()
        code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        for pattern, why in RULES:
            for m in re.finditer(pattern, code, re.M):
                line = code[:m.start()].count("\n") + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0).strip()}: {why}")
        if path.name == "versions.tf":
            v = VERSION.search(text)
            if not v or "< 7.0" not in v.group(1):
                problems.append(f"{path.relative_to(ROOT)}: the hashicorp/aws constraint must admit 6.x (found {v.group(1) if v else 'none'})")
    for p in problems:
        print(p)
    print(f"provider 6: {len(files)} files checked against {len(RULES)} rules of the v6 upgrade guide, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
