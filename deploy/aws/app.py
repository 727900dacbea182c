"""The seed's AWS layout as CDK (Python), synthesised offline to CloudFormation.

    deploy/.venv/bin/python -m deploy.aws.app [OUTDIR]     # default deploy/build/cdk.out

No AWS account is needed to synthesise: the account and the three availability zones are
given explicitly (no context lookups), EKS is declared with CloudFormation's own resources (no
kubectl custom resource), and the only asset is the live-repricing Lambda's image, which synth
stages (Docker builds it at `cdk deploy` time, never in CI).

What it creates (eu-west-3, Paris: the ANJ licence keeps players' data in France):
- a VPC over three AZs: public subnets (the ALB, NAT), private subnets (EKS nodes and pods),
  isolated subnets (RDS, ElastiCache), tagged so that the AWS Load Balancer Controller places
  the internet-facing ALB of deploy/k8s/base/ingress.yaml in the public ones;
- EKS (Kubernetes version pinned with deploy/tools/validate_k8s.py) with two managed node
  groups: "general" for the mesh and "quotes" (three AZs, one node per AZ at least, so that
  each sport's three replicas land in three zones);
- RDS PostgreSQL, multi-AZ, encrypted, 14 days of point-in-time recovery;
- ElastiCache Redis (cluster mode off, one replica per AZ, automatic failover, TLS, AUTH);
- the TLS certificate (ACM, DNS-validated) of the public origin browsers and partners reach
  through that ALB; the web app itself ships in the mesh image and the edge serves it on that
  origin (one origin for the app, its gRPC-web calls and the FranceConnect redirects);
- Secrets Manager secrets for everything the manifests reference by name, and one KMS
  secp256k1 signing key per oracle signer (k of n: one IAM principal per key);
- an RPC URL secret (Infura or a self-hosted node);
- ECR for the mesh image and the live-repricing Lambda (container image).
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import (
    aws_certificatemanager as acm,
)
from aws_cdk import (
    aws_ec2 as ec2,
)
from aws_cdk import (
    aws_ecr as ecr,
)
from aws_cdk import (
    aws_eks as eks,
)
from aws_cdk import (
    aws_elasticache as elasticache,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_rds as rds,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-3"
ZONES = ["eu-west-3a", "eu-west-3b", "eu-west-3c"]
# Placeholder account for offline synthesis; `cdk deploy` passes the real one (context).
ACCOUNT = "123456789012"
KUBERNETES_VERSION = "1.34"
ORACLE_SIGNERS = 3
# The origin browsers use (BETMESH_EDGE_PUBLIC_URL in deploy/k8s, the FranceConnect redirect
# URIs); `cdk deploy -c betmesh:domain=...` names the real one.
PUBLIC_DOMAINS = {"dev": "dev.betmesh.example", "prod": "betmesh.example"}
SERVICES_WITH_DATABASE = ("gateway", "bets", "identity", "oracle", "quotes")
# Only what the Lambda image copies: staging the whole repository would take node_modules.
LAMBDA_CONTEXT = [
    "*",
    "!deploy/requirements-runtime.lock",
    "!deploy/__init__.py",
    "!deploy/aws/__init__.py",
    "!deploy/aws/lambda_live",
    "!service_runtime",
    "!services/__init__.py",
    "!services/quotes",
    "!gen/python",
    "**/__pycache__",
]


class BetmeshStack(cdk.Stack):
    def __init__(self, scope: Construct, name: str, *, environment: str, **kwargs: object) -> None:
        super().__init__(scope, name, **kwargs)  # type: ignore[arg-type]
        prod = environment == "prod"
        removal = cdk.RemovalPolicy.RETAIN if prod else cdk.RemovalPolicy.DESTROY

        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.0.0.0/16"),
            availability_zones=ZONES,
            nat_gateways=3 if prod else 1,
            subnet_configuration=[
                # 10.0.0.0/22, 10.0.4.0/22, 10.0.8.0/22: inside 10.0.0.0/20, the edge
                # NetworkPolicy's source block (ALB in ip target mode).
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=19
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        vpc.add_flow_log("FlowLog")
        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        # The AWS Load Balancer Controller finds its subnets by these tags: internet-facing
        # load balancers (the Ingresses' ALB) in the public ones, internal ones in the private.
        for subnet in vpc.public_subnets:
            cdk.Tags.of(subnet).add("kubernetes.io/role/elb", "1")
        for subnet in private.subnets:
            cdk.Tags.of(subnet).add("kubernetes.io/role/internal-elb", "1")
        data = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        # ---- EKS ---------------------------------------------------------------------------
        cluster_role = iam.Role(
            self,
            "ClusterRole",
            assumed_by=iam.ServicePrincipal("eks.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonEKSClusterPolicy")
            ],
        )
        cluster_sg = ec2.SecurityGroup(
            self, "ClusterSecurityGroup", vpc=vpc, description="EKS control plane"
        )
        secrets_key = kms.Key(
            self, "EksSecretsKey", enable_key_rotation=True, removal_policy=removal
        )
        cluster = eks.CfnCluster(
            self,
            "Cluster",
            name=f"betmesh-{environment}",
            version=KUBERNETES_VERSION,
            role_arn=cluster_role.role_arn,
            resources_vpc_config=eks.CfnCluster.ResourcesVpcConfigProperty(
                subnet_ids=private.subnet_ids,
                security_group_ids=[cluster_sg.security_group_id],
                endpoint_private_access=True,
                endpoint_public_access=not prod,
            ),
            encryption_config=[
                eks.CfnCluster.EncryptionConfigProperty(
                    provider=eks.CfnCluster.ProviderProperty(key_arn=secrets_key.key_arn),
                    resources=["secrets"],
                )
            ],
            logging=eks.CfnCluster.LoggingProperty(
                cluster_logging=eks.CfnCluster.ClusterLoggingProperty(
                    enabled_types=[
                        eks.CfnCluster.LoggingTypeConfigProperty(type=t)
                        for t in ("api", "audit", "authenticator")
                    ]
                )
            ),
            access_config=eks.CfnCluster.AccessConfigProperty(authentication_mode="API"),
        )
        node_role = iam.Role(
            self,
            "NodeRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name)
                for name in (
                    "AmazonEKSWorkerNodePolicy",
                    "AmazonEKS_CNI_Policy",
                    "AmazonEC2ContainerRegistryReadOnly",
                )
            ],
        )
        # Sizes: docs/capacity.md (peak Saturday). The HPA and the cluster autoscaler move
        # between min and max; quotes nodes stay at one per zone and sport set at least.
        for pool, instance, low, high, labels in (
            ("general", "c7i.2xlarge", 3 if prod else 1, 40 if prod else 3, {}),
            ("quotes", "c7i.xlarge", 3, 12 if prod else 3, {"betmesh.io/pool": "quotes"}),
        ):
            eks.CfnNodegroup(
                self,
                f"Nodes{pool.title()}",
                cluster_name=cluster.ref,
                nodegroup_name=pool,
                node_role=node_role.role_arn,
                subnets=private.subnet_ids,
                instance_types=[instance],
                ami_type="AL2023_x86_64_STANDARD",
                capacity_type="ON_DEMAND",
                scaling_config=eks.CfnNodegroup.ScalingConfigProperty(
                    min_size=low, desired_size=low, max_size=high
                ),
                labels=labels or None,
                update_config=eks.CfnNodegroup.UpdateConfigProperty(max_unavailable=1),
            )

        # ---- data stores ---------------------------------------------------------------------
        data_sg = ec2.SecurityGroup(self, "DataSecurityGroup", vpc=vpc, description="RDS, Redis")
        for port, what in ((5432, "PostgreSQL"), (6379, "Redis")):
            data_sg.add_ingress_rule(
                ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(port), f"{what} from the VPC"
            )
        database = rds.DatabaseInstance(
            self,
            "Database",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_9),
            instance_type=ec2.InstanceType("r6g.4xlarge" if prod else "t4g.medium"),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[data_sg],
            multi_az=True,
            allocated_storage=500 if prod else 50,
            max_allocated_storage=4000 if prod else 100,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            backup_retention=cdk.Duration.days(14 if prod else 1),
            deletion_protection=prod,
            enable_performance_insights=True,
            credentials=rds.Credentials.from_generated_secret("betmesh_admin"),
            removal_policy=cdk.RemovalPolicy.SNAPSHOT if prod else cdk.RemovalPolicy.DESTROY,
        )

        redis_auth = secretsmanager.Secret(
            self,
            "RedisAuth",
            secret_name=f"betmesh/{environment}/redis-auth",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        redis_subnets = elasticache.CfnSubnetGroup(
            self,
            "RedisSubnets",
            description="betmesh Redis",
            subnet_ids=data.subnet_ids,
        )
        elasticache.CfnReplicationGroup(
            self,
            "Redis",
            replication_group_description="betmesh event path and live state",
            engine="redis",
            engine_version="7.1",
            cache_node_type="cache.r7g.xlarge" if prod else "cache.t4g.small",
            num_cache_clusters=3,
            multi_az_enabled=True,
            automatic_failover_enabled=True,
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=redis_auth.secret_value.unsafe_unwrap(),
            cache_subnet_group_name=redis_subnets.ref,
            security_group_ids=[data_sg.security_group_id],
            snapshot_retention_limit=7,
        )

        # ---- secrets the manifests reference by name (values set by operators) ------------
        # The External Secrets Operator maps betmesh/<env>/<name> to the Secret of the same
        # name in the namespace; nothing secret is in git or in the template.
        names = [
            "redis",
            "identity-signing-key",
            "identity-clients",
            "identity-exclusion",
            "franceconnect",
            # Each calling service's own client credential ({"client-id", "client-secret"}).
            *(f"{service}-client" for service in ("edge", "gateway", "live", "bets", "quotes")),
            "oracle-transmitter",
            *(f"db-{service}" for service in SERVICES_WITH_DATABASE),
        ]
        for secret in names:
            secretsmanager.Secret(
                self,
                f"Secret{''.join(p.title() for p in secret.split('-'))}",
                secret_name=f"betmesh/{environment}/{secret}",
                description=f"Kubernetes Secret betmesh-{secret}",
                removal_policy=removal,
            )
        secretsmanager.Secret(
            self,
            "OracleRpc",
            secret_name=f"betmesh/{environment}/oracle-rpc",
            description="Ethereum JSON-RPC URLs (Infura with its API key, or the self-hosted node)",
            removal_policy=removal,
        )
        secretsmanager.Secret(
            self,
            "BetsRpc",
            secret_name=f"betmesh/{environment}/bets-rpc",
            description="bets' own JSON-RPC URLs to read the oracle contract (its own API key)",
            removal_policy=removal,
        )
        # One KMS key per oracle signer, each usable by its own role only: a compromised
        # component yields at most one of the k signatures. secp256k1 is Ethereum's curve.
        for index in range(1, ORACLE_SIGNERS + 1):
            # Only signer <index>'s own ServiceAccount (deploy/k8s/base/oracle-signers.yaml)
            # may take this role: no other pod of the cluster can reach the key.
            issuer = f"oidc.eks.{REGION}.amazonaws.com"
            signer_role = iam.Role(
                self,
                f"OracleSigner{index}Role",
                role_name=f"betmesh-{environment}-oracle-signer-{index}",
                assumed_by=iam.FederatedPrincipal(
                    f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}",
                    conditions={
                        "StringEquals": {
                            f"{issuer}:sub": (
                                f"system:serviceaccount:betmesh:oracle-signer-{index}"
                            ),
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                    assume_role_action="sts:AssumeRoleWithWebIdentity",
                ),
                description=f"oracle signer {index} (IRSA)",
            )
            key = kms.Key(
                self,
                f"OracleSigner{index}",
                key_spec=kms.KeySpec.ECC_SECG_P256K1,
                key_usage=kms.KeyUsage.SIGN_VERIFY,
                alias=f"betmesh/{environment}/oracle-signer-{index}",
                removal_policy=removal,
            )
            key.grant(signer_role, "kms:Sign", "kms:GetPublicKey")

        # ---- the public origin ----------------------------------------------------------------
        # The ALB's HTTPS listener (ingress.yaml: certificate-arn, from the EdgeCertificateArn
        # output). DNS validation: the CNAME it asks for goes in the domain's zone, wherever
        # that is hosted. The web app needs no bucket or CDN of its own: it is in the image and
        # the edge serves it with immutable caching of its hashed assets.
        domain = self.node.try_get_context("betmesh:domain") or PUBLIC_DOMAINS[environment]
        certificate = acm.Certificate(
            self,
            "EdgeCertificate",
            domain_name=domain,
            validation=acm.CertificateValidation.from_dns(),
        )

        # ---- images ----------------------------------------------------------------------
        ecr.Repository(
            self,
            "Images",
            repository_name=f"betmesh-{environment}",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            removal_policy=removal,
        )

        # ---- live repricing Lambda (the seed's first step; see lambda_live/handler.py) ---
        lambda_.DockerImageFunction(
            self,
            "LiveRepricing",
            code=lambda_.DockerImageCode.from_image_asset(
                str(ROOT),
                file="deploy/aws/lambda_live/Dockerfile",
                exclude=LAMBDA_CONTEXT,
                ignore_mode=cdk.IgnoreMode.DOCKER,
            ),
            memory_size=1024,
            timeout=cdk.Duration.seconds(10),
            architecture=lambda_.Architecture.X86_64,
            reserved_concurrent_executions=200 if prod else 5,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            environment={"BETMESH_LAMBDA_SNAPSHOT_DIR": "/var/task/snapshots"},
            description="in-play repricing: the quote replicas' pricing code",
        )

        cdk.CfnOutput(self, "ClusterName", value=cluster.ref)
        cdk.CfnOutput(self, "DatabaseEndpoint", value=database.db_instance_endpoint_address)
        cdk.CfnOutput(self, "EdgeCertificateArn", value=certificate.certificate_arn)
        cdk.CfnOutput(self, "PublicOrigin", value=f"https://{domain}")


def synth(outdir: Path) -> list[Path]:
    # CloudFormation's own validation rules at synth are errors, not warnings.
    app = cdk.App(outdir=str(outdir), context={"@aws-cdk/core:validateAgainstDefaultRules": True})
    for environment in ("dev", "prod"):
        BetmeshStack(
            app,
            f"betmesh-{environment}",
            environment=environment,
            env=cdk.Environment(account=ACCOUNT, region=REGION),
        )
    assembly = app.synth()
    return [Path(assembly.directory) / stack.template_file for stack in assembly.stacks]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else ROOT / "deploy" / "build" / "cdk.out"
    for template in synth(outdir):
        print(template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
