import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { base, graph, pie, single } from './panels';
import { slo } from './slo';
import { quantile, rateBy, ratio, rec, sel } from './queries';
import { withRuntimeRow } from './runtime';

/** A generated dashboard and the file it is written to in deploy/grafana/dashboards/. */
export interface GeneratedDashboard {
  readonly file: string;
  readonly dashboard: dashboard.Dashboard;
}

const FIVE_XX = 'status_code=~"5.."';
const FINISHED = 'status=~"success|failed"';

/** The seed's business dashboard (SEED.md 4.5): its five panels first, then the derived rates. */
function business(): dashboard.DashboardBuilder {
  return base(
    'bizmon-business',
    'bizmon Business monitoring',
    "The seed's business dashboard: users, AI tasks, latency, cache.",
  )
    .withRow(new dashboard.RowBuilder('Business overview'))
    .withPanel(
      single('Active users (last 5 min)', 'short', { expr: `max(${sel('active_users_current')})` }),
    )
    .withPanel(
      single('AI task success rate (5 min)', 'percentunit', {
        expr: ratio(
          '',
          sel('ai_tasks_total', 'status="success"'),
          sel('ai_tasks_total', FINISHED),
          '5m',
        ),
      }),
    )
    .withPanel(
      single('HTTP error rate (5 min)', 'percentunit', { expr: `max(${rec('http_errors_rate')})` }),
    )
    .withPanel(
      single('Average credit balance (1 h)', 'short', { expr: `max(${rec('avg_user_credits')})` }),
    )
    .withPanel(
      pie('AI service usage (1 h)', 'short', {
        expr: `sum by (service) (increase(${sel('ai_tasks_submitted_total')}[1h]))`,
        legend: '{{service}}',
      }),
    )
    .withPanel(
      graph(
        'API response time',
        's',
        [
          { expr: quantile(0.95, 'http_request_duration_seconds', '', '', '5m'), legend: 'p95' },
          { expr: quantile(0.5, 'http_request_duration_seconds', '', '', '5m'), legend: 'p50' },
        ],
        { w: 8 },
      ),
    )
    .withPanel(
      graph(
        'Cache hit rate',
        'percentunit',
        [
          {
            expr: ratio(
              '',
              sel('cache_operations_total', 'result="hit"'),
              sel('cache_operations_total', 'result=~"hit|miss"'),
              '5m',
            ),
            legend: 'all instances',
          },
          { expr: sel('cache_hit_rate'), legend: '{{instance}}' },
        ],
        { w: 8 },
      ),
    );
}

function http(): dashboard.DashboardBuilder {
  return base(
    'bizmon-http',
    'bizmon HTTP',
    'Rate, errors and duration (RED) of HTTP requests by endpoint, and the Node.js runtime serving them.',
  )
    .withRow(new dashboard.RowBuilder('Rate'))
    .withPanel(
      graph('Requests per second by endpoint', 'reqps', [
        { expr: rateBy('endpoint', sel('http_requests_total')), legend: '{{endpoint}}' },
      ]),
    )
    .withPanel(
      graph('Requests per second by status code', 'reqps', [
        { expr: rateBy('status_code', sel('http_requests_total')), legend: '{{status_code}}' },
      ]),
    )
    .withPanel(
      graph('Requests per second by user role', 'reqps', [
        { expr: rateBy('user_role', sel('http_requests_total')), legend: '{{user_role}}' },
      ]),
    )
    .withPanel(
      graph('Requests in flight', 'short', [
        {
          expr: `sum by (instance) (${sel('http_concurrent_connections')})`,
          legend: '{{instance}}',
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Errors'))
    .withPanel(
      graph('5xx share by endpoint', 'percentunit', [
        {
          expr: ratio('endpoint', sel('http_requests_total', FIVE_XX), sel('http_requests_total')),
          legend: '{{endpoint}}',
        },
      ]),
    )
    .withPanel(
      graph('5xx per second by endpoint and status', 'reqps', [
        {
          expr: rateBy('endpoint, status_code', sel('http_requests_total', FIVE_XX)),
          legend: '{{endpoint}} {{status_code}}',
        },
      ]),
    )
    .withPanel(
      graph('4xx per second by endpoint', 'reqps', [
        {
          expr: rateBy('endpoint', sel('http_requests_total', 'status_code=~"4.."')),
          legend: '{{endpoint}}',
        },
      ]),
    )
    .withPanel(
      graph('Error rate per job (recorded)', 'percentunit', [
        { expr: rec('http_errors_rate'), legend: '{{job}}' },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Duration'))
    .withPanel(
      graph('p95 by endpoint', 's', [
        {
          expr: quantile(0.95, 'http_request_duration_seconds', 'endpoint'),
          legend: '{{endpoint}}',
        },
      ]),
    )
    .withPanel(
      graph('p50 by endpoint', 's', [
        {
          expr: quantile(0.5, 'http_request_duration_seconds', 'endpoint'),
          legend: '{{endpoint}}',
        },
      ]),
    )
    .withPanel(
      graph('Mean duration by endpoint', 's', [
        {
          expr: `${rateBy('endpoint', sel('http_request_duration_seconds_sum'))} / ${rateBy('endpoint', sel('http_request_duration_seconds_count'))}`,
          legend: '{{endpoint}}',
        },
      ]),
    );
}

function database(): dashboard.DashboardBuilder {
  return base(
    'bizmon-database',
    'bizmon Database',
    'PostgreSQL queries, pool, slow queries and deadlocks.',
  )
    .withRow(new dashboard.RowBuilder('Queries'))
    .withPanel(
      graph('Queries per second by operation', 'ops', [
        {
          expr: rateBy('operation', sel('db_query_duration_seconds_count')),
          legend: '{{operation}}',
        },
      ]),
    )
    .withPanel(
      graph('Query p95 by table and operation', 's', [
        {
          expr: quantile(0.95, 'db_query_duration_seconds', 'table, operation'),
          legend: '{{operation}} {{table}}',
        },
      ]),
    )
    .withPanel(
      graph('Slow queries per minute by table and operation', 'short', [
        {
          expr: `${rateBy('table, operation', sel('db_slow_queries_total'))} * 60`,
          legend: '{{operation}} {{table}}',
        },
      ]),
    )
    .withPanel(
      graph('Deadlocks (5 min)', 'short', [
        {
          expr: `sum by (instance) (increase(${sel('db_deadlocks_total')}[5m]))`,
          legend: '{{instance}}',
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Connection pool'))
    .withPanel(
      graph('Pool usage', 'percentunit', [
        {
          expr: `max by (instance, pool) (${sel('db_connection_pool_usage')}) / on (instance, pool) max by (instance, pool) (${sel('db_connection_pool_size')})`,
          legend: '{{instance}} {{pool}}',
        },
      ]),
    )
    .withPanel(
      graph('Connections checked out and pool size', 'short', [
        {
          expr: `sum by (instance, pool) (${sel('db_connection_pool_usage')})`,
          legend: 'used {{instance}} {{pool}}',
        },
        {
          expr: `sum by (instance, pool) (${sel('db_connection_pool_size')})`,
          legend: 'size {{instance}} {{pool}}',
        },
      ]),
    );
}

function cache(): dashboard.DashboardBuilder {
  return base(
    'bizmon-cache',
    'bizmon Cache',
    'Cache operations, hit rate, latency and Redis memory.',
  )
    .withRow(new dashboard.RowBuilder('Cache'))
    .withPanel(
      graph('Hit rate', 'percentunit', [
        {
          expr: ratio(
            '',
            sel('cache_operations_total', 'result="hit"'),
            sel('cache_operations_total', 'result=~"hit|miss"'),
          ),
          legend: 'all instances',
        },
        { expr: sel('cache_hit_rate'), legend: '{{instance}} (5 min, in process)' },
      ]),
    )
    .withPanel(
      graph('Operations per second', 'ops', [
        {
          expr: rateBy('operation, result', sel('cache_operations_total')),
          legend: '{{operation}} {{result}}',
        },
      ]),
    )
    .withPanel(
      graph('Operation p95', 's', [
        {
          expr: quantile(0.95, 'cache_operation_duration_seconds', 'operation'),
          legend: '{{operation}}',
        },
      ]),
    )
    .withPanel(
      graph('Errors per second', 'ops', [
        {
          expr: rateBy('operation', sel('cache_operations_total', 'result="error"')),
          legend: '{{operation}}',
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Memory'))
    .withPanel(
      graph('Cache size', 'bytes', [
        { expr: `max by (instance) (${sel('cache_size_bytes')})`, legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      graph('Redis memory usage', 'percentunit', [
        { expr: `max(${sel('redis_memory_usage_ratio')})`, legend: 'used / limit' },
      ]),
    );
}

function usersAndCredits(): dashboard.DashboardBuilder {
  return base(
    'bizmon-users-credits',
    'bizmon Users and credits',
    'Active users, registrations, retention and the credits economy.',
  )
    .withRow(new dashboard.RowBuilder('Users'))
    .withPanel(
      single('Active users (5 min)', 'short', { expr: `max(${sel('active_users_current')})` }),
    )
    .withPanel(single('Daily active users', 'short', { expr: `max(${sel('daily_active_users')})` }))
    .withPanel(
      single('Monthly active users', 'short', { expr: `max(${sel('monthly_active_users')})` }),
    )
    .withPanel(
      single('Credit conversion rate (today)', 'percentunit', {
        expr: `max(${sel('credit_conversion_rate')})`,
      }),
    )
    .withPanel(
      graph('Active users', 'short', [
        { expr: `max(${sel('active_users_current')})`, legend: 'last 5 min' },
        { expr: `max(${sel('daily_active_users')})`, legend: 'today' },
      ]),
    )
    .withPanel(
      graph('Registrations per hour', 'short', [
        {
          expr: `sum(increase(${sel('new_users_registered_total')}[1h]))`,
          legend: 'registrations',
        },
      ]),
    )
    .withPanel(
      graph('Retention', 'percentunit', [
        { expr: `max by (period) (${sel('user_retention_rate')})`, legend: '{{period}}' },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Credits'))
    .withPanel(
      graph('Credits consumed and purchased per hour', 'short', [
        {
          expr: `sum by (user_role) (increase(${sel('credits_consumed_total')}[1h]))`,
          legend: 'consumed {{user_role}}',
        },
        {
          expr: `sum by (user_role) (increase(${sel('credits_purchased_total')}[1h]))`,
          legend: 'purchased {{user_role}}',
        },
      ]),
    )
    .withPanel(
      graph('Credits operations per second', 'ops', [
        { expr: rateBy('operation', sel('credits_operations_total')), legend: '{{operation}}' },
      ]),
    )
    .withPanel(
      graph('Average balance after a consume (1 h)', 'short', [
        { expr: rec('avg_user_credits'), legend: '{{job}}' },
      ]),
    )
    .withPanel(
      graph('Balance after a consume: median and p90', 'short', [
        { expr: quantile(0.5, 'user_credits_balance', '', '', '1h'), legend: 'median' },
        { expr: quantile(0.9, 'user_credits_balance', '', '', '1h'), legend: 'p90' },
      ]),
    );
}

function aiServices(): dashboard.DashboardBuilder {
  return base(
    'bizmon-ai-services',
    'bizmon AI services',
    'AI tasks per service: volume, success, duration and failures.',
  )
    .withRow(new dashboard.RowBuilder('Tasks'))
    .withPanel(
      graph('Tasks submitted per minute', 'short', [
        {
          expr: `${rateBy('service', sel('ai_tasks_submitted_total'))} * 60`,
          legend: '{{service}}',
        },
      ]),
    )
    .withPanel(
      graph('Success rate of finished tasks', 'percentunit', [
        {
          expr: ratio(
            'service',
            sel('ai_tasks_total', 'status="success"'),
            sel('ai_tasks_total', FINISHED),
          ),
          legend: '{{service}}',
        },
      ]),
    )
    .withPanel(
      graph('Tasks by status per minute', 'short', [
        {
          expr: `${rateBy('service, status', sel('ai_tasks_total'))} * 60`,
          legend: '{{service}} {{status}}',
        },
      ]),
    )
    .withPanel(
      pie('Usage distribution (1 h)', 'percentunit', {
        expr: rec('ai_service_usage_distribution'),
        legend: '{{service}}',
      }),
    )
    .withRow(new dashboard.RowBuilder('Duration and failures'))
    .withPanel(
      graph('Mean duration (recorded, 5 min)', 's', [
        { expr: rec('ai_task_duration_avg'), legend: '{{service}}' },
      ]),
    )
    .withPanel(
      graph('p95 duration by service and mode', 's', [
        {
          expr: quantile(0.95, 'ai_task_duration_seconds', 'service, mode'),
          legend: '{{service}} {{mode}}',
        },
      ]),
    )
    .withPanel(
      graph('Failures per minute by error type', 'short', [
        {
          expr: `${rateBy('service, error_type', sel('ai_service_failures_total'))} * 60`,
          legend: '{{service}} {{error_type}}',
        },
      ]),
    )
    .withPanel(
      graph('Success rate (recorded, 5 min)', 'percentunit', [
        { expr: rec('ai_task_success_rate'), legend: '{{service}}' },
      ]),
    );
}

function errorsAndSecurity(): dashboard.DashboardBuilder {
  return base(
    'bizmon-errors-security',
    'bizmon Errors and security',
    'Application, payment and upload failures; security events; scrape health.',
  )
    .withRow(new dashboard.RowBuilder('Errors'))
    .withPanel(
      graph('Application errors per minute', 'short', [
        {
          expr: `${rateBy('component, error_type', sel('application_errors_total'))} * 60`,
          legend: '{{component}} {{error_type}}',
        },
      ]),
    )
    .withPanel(
      graph('Payment failures (5 min)', 'short', [
        {
          expr: `sum by (provider, reason) (increase(${sel('payment_failures_total')}[5m]))`,
          legend: '{{provider}} {{reason}}',
        },
      ]),
    )
    .withPanel(
      graph('Upload failures (5 min)', 'short', [
        {
          expr: `sum by (reason) (increase(${sel('file_upload_failures_total')}[5m]))`,
          legend: '{{reason}}',
        },
      ]),
    )
    .withPanel(
      graph('Measurements bizmon dropped (5 min)', 'short', [
        {
          expr: `sum by (metric, reason) (increase(${sel('bizmon_dropped_measurements_total')}[5m]))`,
          legend: '{{metric}} {{reason}}',
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Security'))
    .withPanel(
      graph('Login failures per second', 'short', [
        { expr: rateBy('reason', sel('login_failures_total')), legend: '{{reason}}' },
      ]),
    )
    .withPanel(
      graph('API abuse detections (5 min)', 'short', [
        {
          expr: `sum by (rule) (increase(${sel('api_abuse_detected_total')}[5m]))`,
          legend: '{{rule}}',
        },
      ]),
    )
    .withPanel(
      graph('Suspicious access patterns (5 min)', 'short', [
        {
          expr: `sum by (pattern) (increase(${sel('suspicious_access_patterns_total')}[5m]))`,
          legend: '{{pattern}}',
        },
      ]),
    )
    .withPanel(
      graph('Security events (5 min)', 'short', [
        {
          expr: `sum by (event_type, severity) (increase(${sel('security_events_total')}[5m]))`,
          legend: '{{event_type}} {{severity}}',
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder('Scrape health'))
    .withPanel(
      graph('Targets up', 'short', [
        { expr: 'up{job=~"$job",instance=~"$instance"}', legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      graph('Versions', 'short', [
        {
          expr: `max by (instance, service_name, service_version, bizmon_version) (${sel('system_info')})`,
          legend: '{{instance}} {{service_name}} {{service_version}} (bizmon {{bizmon_version}})',
        },
      ]),
    );
}

/** Every dashboard bizmon ships, in a stable order. */
export function buildDashboards(): GeneratedDashboard[] {
  return [
    business(),
    withRuntimeRow(http()),
    database(),
    cache(),
    usersAndCredits(),
    aiServices(),
    errorsAndSecurity(),
    slo(),
  ].map((b) => {
    const built = b.build();
    return { file: `${built.uid}.json`, dashboard: built };
  });
}
