import { unlinkSync, chmodSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { catalogSpecs, type MetricSpec } from '../../model/catalog';
import { processEnv, type BizmonConfig } from '../../base/config';
import { warn, warnRateLimited } from '../../base/log';
import { runCollectCallbacks } from '../producer';
import type { AnyFamilyData } from '../../model/registry';
import { state } from '../../base/state';
import { withTimeout } from '../../base/timeout';
import { readMessages, sendMessage, socketPath } from './channel';
import {
  foldInto,
  mergeContributions,
  takeSnapshot,
  validSnapshot,
  type Contribution,
  type Snapshot,
} from './series';

/**
 * One `/metrics` for a clustered service (node:cluster, PM2 cluster mode); the design is in
 * packages/node/README.md ("Clustered services"). In short: the process that holds the
 * exporter's port is the aggregator; every other process of the service connects to it over
 * a private unix socket named after the port and sends its series when asked, at each scrape.
 */

/** Protocol version in the hello message; a mismatch is refused. */
const PROTOCOL = 1;
/** Most processes an aggregator takes series from. */
const MAX_PEERS = 1024;
/** Processes whose counts were folded into the dead workers' store, remembered to refuse them. */
const MAX_RETIRED_IDS = 4096;
/** First and longest wait before a worker tries again to reach or become the aggregator. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;
/** A connection that has not said who it is by then is closed. */
const HELLO_TIMEOUT_MS = 5000;

type Cluster = import('node:cluster').Cluster;

/**
 * node:cluster, if this process has loaded it already (node loads it itself in a worker):
 * requiring it costs about 1 ms, which a service that never uses it should not pay.
 * `process.moduleLoadList` (node's list of the modules it loaded) is not documented; where it
 * is missing, node:cluster is required in processes with an IPC channel, as a worker has.
 */
function loadedCluster(): Cluster | undefined {
  const loaded = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
  const isLoaded = loaded ? loaded.includes('NativeModule cluster') : process.send !== undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return isLoaded ? (require('node:cluster') as Cluster) : undefined;
}

/** Whether this process is a node:cluster worker (PM2 cluster mode included). */
export function isClusterWorker(): boolean {
  return loadedCluster()?.isWorker === true;
}

/** Whether this process is a node:cluster primary that has forked workers. */
export function isPrimaryWithWorkers(): boolean {
  const cluster = loadedCluster();
  return cluster?.isPrimary === true && Object.keys(cluster.workers ?? {}).length > 0;
}

/** This process's `worker` label: PM2's instance number, else node:cluster's worker id. */
function workerLabel(): string {
  const instance = processEnv().NODE_APP_INSTANCE;
  if (instance !== undefined && /^\d{1,6}$/.test(instance)) return instance;
  const worker = loadedCluster()?.worker;
  return worker ? String(worker.id) : 'primary';
}

/** Identifies a process for its life: a pid may be reused, a pid with a start time not. */
const PROCESS_ID = `${process.pid}-${Math.round(performance.timeOrigin)}`;

/** How long the aggregator waits for the workers' series at each scrape. */
function collectTimeoutMs(config: BizmonConfig): number {
  return Math.min(2000, Math.floor(config.exporterTimeoutMs / 2));
}

interface Peer {
  readonly socket: Socket;
  worker: string | undefined;
  id: string | undefined;
  snapshot: Snapshot;
  /** The latest collection answered, and who waits for later ones. */
  answered: number;
  readonly waiting: Map<number, () => void>;
}

/** The process that serves `/metrics` for the whole service. */
class Aggregator {
  private readonly peers = new Set<Peer>();
  private retired: Snapshot = [];
  private readonly retiredIds = new Set<string>();
  private readonly specs: ReadonlyMap<string, MetricSpec>;
  private round = 0;

  constructor(
    private readonly config: BizmonConfig,
    private readonly server: Server,
    private readonly path: string,
  ) {
    const specs = new Map<string, MetricSpec>(catalogSpecs.map((s) => [s.name, s]));
    for (const family of state.families.values()) specs.set(family.spec.name, family.spec);
    this.specs = specs;
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on `path` (replacing a stale socket: holding the port makes it ours). */
  static open(config: BizmonConfig, path: string): Promise<Aggregator | undefined> {
    try {
      unlinkSync(path);
    } catch {
      // absent
    }
    const server = createServer();
    return new Promise((resolve) => {
      server.once('error', (err) => {
        warn(
          `the cluster's metrics socket ${path} failed: ${err.message}; /metrics shows this process only`,
        );
        resolve(undefined);
      });
      // Exclusive: in a worker, a plain listen() would ask the cluster's primary (PM2's daemon)
      // to open the socket and tell the app's `listening` handlers about it.
      server.listen({ path, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => warn(`the cluster's metrics socket failed: ${err.message}`));
        try {
          chmodSync(path, 0o600);
        } catch {
          // the directory (0700) already keeps others out
        }
        server.unref();
        resolve(new Aggregator(config, server, path));
      });
    });
  }

  private accept(socket: Socket): void {
    socket.unref();
    socket.on('error', () => {});
    if (this.peers.size >= MAX_PEERS) {
      socket.destroy();
      return;
    }
    const peer: Peer = {
      socket,
      worker: undefined,
      id: undefined,
      snapshot: [],
      answered: 0,
      waiting: new Map(),
    };
    this.peers.add(peer);
    const hello = setTimeout(() => peer.id === undefined && socket.destroy(), HELLO_TIMEOUT_MS);
    hello.unref();
    readMessages(socket, (message) => this.receive(peer, message));
    socket.once('close', () => {
      clearTimeout(hello);
      this.peers.delete(peer);
      for (const wake of peer.waiting.values()) wake();
      if (peer.id !== undefined) this.retire(peer);
    });
  }

  private receive(peer: Peer, message: unknown): void {
    const m = message as {
      t?: unknown;
      v?: unknown;
      worker?: unknown;
      id?: unknown;
      n?: unknown;
      s?: unknown;
    };
    if (peer.id === undefined) {
      const valid =
        m.t === 'hello' &&
        m.v === PROTOCOL &&
        typeof m.worker === 'string' &&
        /^[\w.-]{1,64}$/.test(m.worker) &&
        typeof m.id === 'string' &&
        /^[\w.-]{1,64}$/.test(m.id) &&
        !this.retiredIds.has(m.id);
      if (!valid) {
        peer.socket.destroy();
        return;
      }
      peer.worker = m.worker as string;
      peer.id = m.id as string;
      return;
    }
    if (m.t !== 'snapshot' || typeof m.n !== 'number' || m.n <= peer.answered) return;
    peer.snapshot = validSnapshot(m.s, this.specs, state.cardinalityLimit);
    peer.answered = m.n;
    for (const [n, wake] of peer.waiting) {
      if (n <= m.n) {
        peer.waiting.delete(n);
        wake();
      }
    }
  }

  /**
   * A worker has gone: its counters and histograms are added to the dead workers' store (as of
   * its last answer), its gauges dropped, and its id remembered so it cannot be counted twice.
   */
  private retire(peer: Peer): void {
    this.retired = foldInto(this.retired, peer.snapshot, state.cardinalityLimit);
    this.retiredIds.add(peer.id!);
    if (this.retiredIds.size > MAX_RETIRED_IDS) {
      this.retiredIds.delete(this.retiredIds.values().next().value!);
    }
  }

  /**
   * Asks every worker for its series and merges them with this process's own (whose collect
   * callbacks the caller has run). A worker that does not answer in time is counted as of its
   * last answer; one that dies meanwhile, as of its last answer too.
   */
  async collect(): Promise<AnyFamilyData[]> {
    const n = ++this.round;
    const asked: Promise<void>[] = [];
    for (const peer of this.peers) {
      if (peer.id === undefined) continue;
      asked.push(
        new Promise<void>((resolve) => {
          peer.waiting.set(n, resolve);
          sendMessage(peer.socket, { t: 'collect', n });
        }),
      );
    }
    if (asked.length > 0) {
      await withTimeout(Promise.all(asked), collectTimeoutMs(this.config), 'the workers').catch(
        () =>
          warnRateLimited(
            'cluster-collect',
            `a cluster worker did not send its series within ${collectTimeoutMs(this.config)} ms; ` +
              '/metrics counts it as of its last answer',
          ),
      );
      for (const peer of this.peers) peer.waiting.delete(n);
    }
    const contributions: Contribution[] = [
      { worker: workerLabel(), snapshot: takeSnapshot(), live: true },
      { worker: '', snapshot: this.retired, live: false },
    ];
    for (const peer of this.peers) {
      if (peer.id !== undefined)
        contributions.push({ worker: peer.worker!, snapshot: peer.snapshot, live: true });
    }
    return mergeContributions(contributions, state.cardinalityLimit);
  }

  close(): void {
    for (const peer of this.peers) peer.socket.destroy();
    this.server.close();
    try {
      unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

/** A worker's side: answers the aggregator's requests for its series. */
class Reporter {
  private busy = false;
  private next: number | undefined;

  constructor(
    readonly socket: Socket,
    worker: string,
  ) {
    sendMessage(socket, { t: 'hello', v: PROTOCOL, worker, id: PROCESS_ID });
    readMessages(socket, (message) => {
      const m = message as { t?: unknown; n?: unknown };
      if (m.t === 'collect' && typeof m.n === 'number') void this.answer(m.n);
    });
  }

  /** Sends the series for collection `n`; requests that arrive meanwhile get one later answer. */
  private async answer(n: number): Promise<void> {
    if (this.busy) {
      this.next = Math.max(this.next ?? 0, n);
      return;
    }
    this.busy = true;
    try {
      await runCollectCallbacks();
      sendMessage(this.socket, { t: 'snapshot', n, s: takeSnapshot() });
    } catch (err) {
      warnRateLimited(
        'cluster-report',
        `could not send series to the cluster's exporter: ${(err as Error).message}`,
      );
    } finally {
      this.busy = false;
    }
    const later = this.next;
    this.next = undefined;
    if (later !== undefined && later > n) void this.answer(later);
  }
}

/** Binds the exporter's server; undefined when the port is taken (or another error, warned). */
export type Bind = () => Promise<AddressInfo | undefined>;

/** This process's part in a clustered service's one `/metrics`. */
export class ClusterMember {
  private aggregator: Aggregator | undefined;
  private reporter: Reporter | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;
  private readonly path: string;

  private constructor(
    private readonly config: BizmonConfig,
    path: string,
  ) {
    this.path = path;
  }

  /**
   * The member for `config`'s exporter, or undefined with a warning when no private socket
   * can be had (the process then serves its own series, as without a cluster).
   */
  static create(config: BizmonConfig): ClusterMember | undefined {
    const where = socketPath(config.exporterPort);
    if ('refused' in where) {
      warn(`a clustered service's one /metrics is off: ${where.refused}`);
      return undefined;
    }
    return new ClusterMember(config, where.path);
  }

  /** Whether this process serves the merged /metrics. */
  get aggregating(): boolean {
    return this.aggregator !== undefined;
  }

  /** The merged families, or undefined when this process does not aggregate. */
  async collect(): Promise<AnyFamilyData[] | undefined> {
    return this.aggregator?.collect();
  }

  /** This process holds the port: it serves the merged /metrics from now on. */
  async aggregate(): Promise<void> {
    if (this.aggregator || this.stopped) return;
    const aggregator = await Aggregator.open(this.config, this.path);
    if (this.stopped) aggregator?.close();
    else this.aggregator = aggregator;
  }

  /**
   * A worker: holds the port if it can (`bind`, exclusively: never shared through the
   * cluster's primary), else reports to whoever holds it; tries again whenever that goes.
   * `onBound` is told when this process takes the port.
   */
  async join(bind: Bind, onBound: (address: AddressInfo) => void): Promise<void> {
    if (this.stopped) return;
    const address = await bind();
    if (this.stopped) return;
    if (address) {
      onBound(address);
      await this.aggregate();
      return;
    }
    const socket = createConnection(this.path);
    socket.unref();
    socket.on('error', () => {});
    socket.once('connect', () => {
      this.retryMs = RETRY_MIN_MS;
      this.reporter = new Reporter(socket, workerLabel());
    });
    socket.once('close', () => {
      this.reporter = undefined;
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => void this.join(bind, onBound), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.reporter?.socket.destroy();
    this.reporter = undefined;
    this.aggregator?.close();
    this.aggregator = undefined;
  }
}

/**
 * In a process that is not a worker (a node:cluster primary, or a service not clustered at
 * all): `member` aggregates once the process has cluster workers. Looked at once, right after
 * start-up (the app's main module has run, so a primary has forked or loaded node:cluster by
 * then), and only if the app has loaded node:cluster (loadedCluster).
 */
export function aggregateWhenForking(member: () => ClusterMember | undefined): void {
  setImmediate(() => {
    const cluster = loadedCluster();
    if (!cluster?.isPrimary) return;
    if (Object.keys(cluster.workers ?? {}).length > 0) void member()?.aggregate();
    else cluster.once('fork', () => void member()?.aggregate());
  }).unref();
}
