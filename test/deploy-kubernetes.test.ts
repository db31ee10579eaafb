/**
 * deploy/kubernetes, docker-compose and the OpenTelemetry Collector config: the PrometheusRule
 * is generated from the very rule files Prometheus loads and is current; scrape jobs, ports
 * and mounts agree across the files; the generators type-check.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { deployDir, generatedFiles, staleFiles } from '../deploy/scripts/generate';
import { findTool } from '../deploy/scripts/tools';

const run = promisify(execFile);
const DEPLOY = deployDir();
const read = (path: string): string => readFileSync(join(DEPLOY, path), 'utf8');

interface PrometheusRule {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { groups: { name: string; rules: unknown[] }[] };
}

const prometheusRule = parse(read('kubernetes/prometheusrule.yaml')) as PrometheusRule;
const ruleFileGroups = readdirSync(join(DEPLOY, 'prometheus', 'rules'))
  .filter((f) => f.endsWith('.rules.yml'))
  .sort()
  .flatMap((f) => (parse(read(join('prometheus', 'rules', f))) as { groups: unknown[] }).groups);

describe('deploy/kubernetes', () => {
  it('PrometheusRule is current (npm run deploy:generate)', () => {
    expect(staleFiles(DEPLOY).filter((p) => p.startsWith('kubernetes'))).toEqual([]);
    expect(generatedFiles(DEPLOY).get(join('kubernetes', 'prometheusrule.yaml'))).toBe(
      read('kubernetes/prometheusrule.yaml'),
    );
  });

  it('PrometheusRule holds exactly the groups of the rule files, labelled for kube-prometheus-stack', () => {
    expect(prometheusRule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(prometheusRule.kind).toBe('PrometheusRule');
    expect(prometheusRule.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(prometheusRule.spec.groups).toEqual(ruleFileGroups);
  });

  it('ServiceMonitors scrape every 15 s as job bizmon and bizmon-alert-bridge', () => {
    const docs = parseAllDocuments(read('kubernetes/servicemonitor.yaml')).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { labels: Record<string, string> };
          spec: {
            endpoints: {
              interval: string;
              relabelings: { targetLabel: string; replacement: string }[];
            }[];
          };
        },
    );
    expect(docs.map((d) => d.kind)).toEqual(['ServiceMonitor', 'ServiceMonitor']);
    const jobs = docs.map((d) => {
      expect(d.metadata.labels.release).toBe('kube-prometheus-stack');
      expect(d.spec.endpoints[0]!.interval).toBe('15s');
      return d.spec.endpoints[0]!.relabelings.find((r) => r.targetLabel === 'job')?.replacement;
    });
    expect(jobs).toEqual(['bizmon', 'bizmon-alert-bridge']);
    // The absent-target alert watches the same job.
    expect(read('prometheus/rules/bizmon-alerts.rules.yml')).toContain('absent(up{job="bizmon"})');
  });

  const promtool = findTool('promtool');
  (promtool === undefined ? it.skip : it)('promtool accepts the PrometheusRule spec', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bizmon-deploy-k8s-'));
    try {
      const file = join(dir, 'spec.yml');
      writeFileSync(file, stringify(prometheusRule.spec));
      const { stdout } = await run(promtool!, ['check', 'rules', file]);
      expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the generators type-check (deploy/tsconfig.json)', async () => {
    const root = resolve(DEPLOY, '..');
    await run(
      process.execPath,
      [
        join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        join(DEPLOY, 'tsconfig.json'),
        '--noEmit',
      ],
      {
        cwd: root,
      },
    );
  }, 60000);
});

describe('deploy/docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<
      string,
      { volumes?: string[]; command?: string[]; environment?: Record<string, string> }
    >;
  };
  const prometheus = parse(read('prometheus/prometheus.yml')) as {
    global: { scrape_interval: string; evaluation_interval: string };
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };

  it('runs the app, postgres, redis, prometheus, alertmanager, grafana and the bridge', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'app',
        'postgres',
        'redis',
        'prometheus',
        'alertmanager',
        'grafana',
        'bridge',
      ]),
    );
  });

  it('mounts files that exist', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.'))
          expect({ volume, exists: existsSync(join(DEPLOY, source)) }).toEqual({
            volume,
            exists: true,
          });
      }
    }
  });

  it('prometheus.yml scrapes the compose services every 15 s and alerts through alertmanager', () => {
    expect(prometheus.global).toMatchObject({ scrape_interval: '15s', evaluation_interval: '15s' });
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((c) => [c.job_name, c.static_configs[0]!.targets]),
    );
    expect(targets.bizmon).toEqual(['app:9464']);
    expect(targets['bizmon-alert-bridge']).toEqual(['bridge:9095']);
    expect(prometheus.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual([
      'alertmanager:9093',
    ]);
    for (const [, [target]] of Object.entries(targets)) {
      const host = target!.split(':')[0]!;
      if (host !== 'localhost') expect(Object.keys(compose.services)).toContain(host);
    }
  });

  it('alertmanager posts to the bridge the compose file runs', () => {
    expect(read('alertmanager/alertmanager.yml')).toContain('url: http://bridge:9095/alerts');
    expect(compose.services.bridge!.command).toEqual(
      expect.arrayContaining(['bizmon-alert-bridge']),
    );
    expect(read('bridge/bridge.yml')).toMatch(/^listen: 0\.0\.0\.0:9095$/m);
  });
});

describe('bridge credentials (issue #13)', () => {
  interface Hook {
    url: string;
    http_config?: { authorization?: { type?: string; credentials_file?: string } };
  }
  const alertmanager = parse(read('alertmanager/alertmanager.yml')) as {
    receivers: { name: string; webhook_configs?: Hook[] }[];
  };
  const bridge = parse(read('bridge/bridge.yml')) as { auth?: { bearerTokenFile?: string } };
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, { volumes?: string[]; depends_on?: Record<string, unknown> }>;
  };
  /** The named volume a service mounts at `path`. */
  const volumeAt = (service: string, path: string) =>
    compose.services[service]!.volumes?.map((v) => v.split(':')).find((v) => v[1] === path)?.[0];

  it('alertmanager sends a bearer token from a file to the bridge, which requires it', () => {
    for (const r of alertmanager.receivers) {
      for (const hook of r.webhook_configs ?? []) {
        expect(hook.http_config?.authorization).toEqual({
          type: 'Bearer',
          credentials_file: '/etc/alertmanager/secrets/bridge-token',
        });
      }
    }
    expect(bridge.auth).toEqual({ bearerTokenFile: '/run/secrets/bizmon/bridge-token' });
  });

  it('docker compose mounts one secret volume at both paths, written before the bridge starts', () => {
    const forAlertmanager = volumeAt('alertmanager', '/etc/alertmanager/secrets');
    const forBridge = volumeAt('bridge', '/run/secrets/bizmon');
    expect(forAlertmanager).toBe('bridge-secrets');
    expect(forBridge).toBe('bridge-secrets');
    expect(volumeAt('bridge-token', '/secrets')).toBe('bridge-secrets');
    expect(compose.services.bridge!.depends_on).toEqual({
      'bridge-token': { condition: 'service_completed_successfully' },
    });
  });

  it('Kubernetes: the bridge reads the token Secret as a file, AlertmanagerConfig sends it', () => {
    interface K8sDoc {
      kind: string;
      data?: Record<string, string>;
      spec: {
        strategy?: unknown;
        ports: { name: string }[];
        template: {
          spec: {
            volumes: { name: string; secret?: { secretName: string } }[];
            containers: { volumeMounts: { name: string; mountPath: string }[] }[];
          };
        };
        receivers: {
          webhookConfigs: { url: string; httpConfig: { authorization: unknown } }[];
        }[];
      };
    }
    const docs = parseAllDocuments(read('kubernetes/alert-bridge.yaml')).map(
      (d) => d.toJS() as K8sDoc,
    );
    const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
    const cfg = parse(byKind.ConfigMap!.data!['bridge.yml']!) as {
      auth: { bearerTokenFile: string };
    };
    const pod = byKind.Deployment!.spec.template.spec;
    const tokenVolume = pod.volumes.find((v) => v.secret)!;
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.name === tokenVolume.name)!;
    expect(cfg.auth.bearerTokenFile).toBe(`${mount.mountPath}/token`);
    expect(byKind.Deployment!.spec.strategy).toEqual({ type: 'Recreate' });
    const hook = byKind.AlertmanagerConfig!.spec.receivers[0]!.webhookConfigs[0]!;
    expect(hook.httpConfig.authorization).toEqual({
      type: 'Bearer',
      credentials: { name: tokenVolume.secret!.secretName, key: 'token' },
    });
    expect(hook.url).toBe('http://bizmon-alert-bridge.monitoring.svc:9095/alerts');
    expect(byKind.Service!.spec.ports[0].name).toBe('http');
  });
});

describe('deploy/otel-collector', () => {
  it('receives OTLP and remote-writes to Prometheus', () => {
    const config = parse(read('otel-collector/config.yaml')) as {
      receivers: Record<string, unknown>;
      processors: Record<string, unknown>;
      exporters: Record<string, { endpoint?: string; add_metric_suffixes?: boolean }>;
      service: {
        pipelines: { metrics: { receivers: string[]; processors: string[]; exporters: string[] } };
      };
    };
    const pipeline = config.service.pipelines.metrics;
    expect(pipeline.receivers).toEqual(['otlp']);
    expect(pipeline.exporters).toEqual(['prometheusremotewrite']);
    expect(Object.keys(config.processors)).toEqual(expect.arrayContaining(pipeline.processors));
    // The catalog's names already end in _total and carry no unit suffix.
    expect(config.exporters.prometheusremotewrite!.add_metric_suffixes).toBe(false);
    expect(config.receivers.otlp).toBeDefined();
  });
});
