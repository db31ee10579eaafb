import * as ts from 'typescript';
import { setRequestUser } from '@bizmon/core';
import { runWithRequestContext } from '@bizmon/core/internal';
import * as business from '@bizmon/business';
import { aiTasks, monitorAiTask, monitorCreditsOperation } from '@bizmon/business';
import { sampleValue } from '../../../test/support/exposition';
import { useTelemetry } from './telemetry';

const { scrape } = useTelemetry();

class GenerationError extends Error {}

/** The effect of one service's calls: counts by status, failures by type, durations. */
async function taskCounts(service: string): Promise<Record<string, number>> {
  const f = await scrape();
  return {
    submitted: sampleValue(f, 'ai_tasks_submitted_total', { service }),
    pending: sampleValue(f, 'ai_tasks_total', { service, status: 'pending' }),
    success: sampleValue(f, 'ai_tasks_total', { service, status: 'success' }),
    failed: sampleValue(f, 'ai_tasks_total', { service, status: 'failed' }),
    failures: sampleValue(f, 'ai_service_failures_total', {
      service,
      error_type: 'GenerationError',
    }),
    appErrors: sampleValue(f, 'application_errors_total', {
      component: `ai_service_${service}`,
      error_type: 'GenerationError',
    }),
    durations: sampleValue(f, 'ai_task_duration_seconds_count', { service }),
  };
}

describe('aiTasks.track', () => {
  test('returns a sync result and re-throws a sync error unchanged', async () => {
    expect(aiTasks.track({ service: 'track-sync' }, () => 42)).toBe(42);
    const error = new GenerationError('boom');
    let caught: unknown;
    try {
      aiTasks.track({ service: 'track-sync' }, () => {
        throw error;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(error);
    expect(await taskCounts('track-sync')).toEqual({
      submitted: 2,
      pending: 2,
      success: 1,
      failed: 1,
      failures: 1,
      appErrors: 1,
      durations: 2,
    });
  });

  test('resolves to an async result and rejects with the same error object', async () => {
    const result = { url: 'https://cdn/img.png' };
    await expect(
      aiTasks.track({ service: 'track-async', mode: 'hd' }, async () => result),
    ).resolves.toBe(result);
    const error = new GenerationError('late');
    await expect(
      aiTasks.track({ service: 'track-async', mode: 'hd' }, async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw error;
      }),
    ).rejects.toBe(error);
    expect(await taskCounts('track-async')).toEqual({
      submitted: 2,
      pending: 2,
      success: 1,
      failed: 1,
      failures: 1,
      appErrors: 1,
      durations: 2,
    });
    const f = await scrape();
    expect(
      sampleValue(f, 'ai_task_duration_seconds_count', { service: 'track-async', mode: 'hd' }),
    ).toBe(2);
    expect(
      sampleValue(f, 'ai_task_duration_seconds_sum', { service: 'track-async', mode: 'hd' }),
    ).toBeGreaterThan(0.004);
  });
});

describe('monitorAiTask as a plain wrapper', () => {
  test('keeps this, arguments, name, result and error; sync and async', async () => {
    const sync = monitorAiTask('wrap-svc')(function double(this: { k: number }, x: number) {
      return x * 2 * this.k;
    });
    expect(sync.name).toBe('double');
    expect(sync.call({ k: 3 }, 5)).toBe(30);
    const error = new GenerationError('x');
    const failing = monitorAiTask('wrap-svc', { mode: 'fast' })(async (
      _prompt: string,
    ): Promise<string> => {
      throw error;
    });
    await expect(failing('a cat')).rejects.toBe(error);
    const ok = monitorAiTask('wrap-svc')(async (prompt: string) => `img:${prompt}`);
    await expect(ok('dog')).resolves.toBe('img:dog');
    expect(await taskCounts('wrap-svc')).toEqual({
      submitted: 3,
      pending: 3,
      success: 2,
      failed: 1,
      failures: 1,
      appErrors: 1,
      durations: 3,
    });
    const f = await scrape();
    expect(
      sampleValue(f, 'ai_task_duration_seconds_count', { service: 'wrap-svc', mode: 'fast' }),
    ).toBe(1);
  });

  test('takes the role of the request the call runs in', async () => {
    const generate = monitorAiTask('role-svc')(async () => 'ok');
    await runWithRequestContext({}, async () => {
      setRequestUser({ id: '7', role: 'vip' });
      await generate();
    });
    await generate();
    const f = await scrape();
    expect(
      sampleValue(f, 'ai_tasks_total', {
        service: 'role-svc',
        status: 'success',
        user_role: 'vip',
      }),
    ).toBe(1);
    expect(
      sampleValue(f, 'ai_tasks_total', {
        service: 'role-svc',
        status: 'success',
        user_role: 'anonymous',
      }),
    ).toBe(1);
  });
});

describe('experimentalDecorators (NestJS style)', () => {
  test('decorates sync and async methods', async () => {
    class ImageService {
      constructor(private readonly prefix: string) {}

      @monitorAiTask('legacy-svc')
      render(prompt: string): string {
        return `${this.prefix}${prompt}`;
      }

      @monitorAiTask('legacy-svc', { mode: 'video' })
      async animate(prompt: string): Promise<string> {
        if (prompt === 'bad') throw new GenerationError('bad prompt');
        return `${this.prefix}${prompt}.mp4`;
      }

      @monitorCreditsOperation('consume')
      async consume(amount: number): Promise<{ credit: number }> {
        if (amount < 0) throw new RangeError('negative');
        return { credit: 100 - amount };
      }
    }
    const service = new ImageService('cdn/');
    expect(service.render('cat')).toBe('cdn/cat');
    await expect(service.animate('dog')).resolves.toBe('cdn/dog.mp4');
    await expect(service.animate('bad')).rejects.toBeInstanceOf(GenerationError);
    await expect(service.consume(30)).resolves.toEqual({ credit: 70 });
    await expect(service.consume(-1)).rejects.toBeInstanceOf(RangeError);
    expect(ImageService.prototype.render.name).toBe('render');
    expect(await taskCounts('legacy-svc')).toEqual({
      submitted: 3,
      pending: 3,
      success: 2,
      failed: 1,
      failures: 1,
      appErrors: 1,
      durations: 3,
    });
    const f = await scrape();
    expect(
      sampleValue(f, 'ai_task_duration_seconds_count', { service: 'legacy-svc', mode: 'video' }),
    ).toBe(2);
    expect(
      sampleValue(f, 'credits_operations_total', { operation: 'consume', user_role: 'anonymous' }),
    ).toBe(1);
    expect(sampleValue(f, 'user_credits_balance_sum')).toBe(70);
    expect(
      sampleValue(f, 'application_errors_total', {
        error_type: 'RangeError',
        component: 'credits_system',
      }),
    ).toBe(1);
  });
});

describe('TypeScript 5 standard decorators', () => {
  test('decorate sync and async methods of a class compiled without experimentalDecorators', async () => {
    const source = `
      const { monitorAiTask, monitorCreditsOperation } = business;
      class Failure extends Error {}
      class Service {
        @monitorAiTask('std-svc')
        render(prompt: string): string { return 'img:' + prompt; }

        @monitorAiTask('std-svc', { mode: 'video' })
        async animate(prompt: string): Promise<string> {
          if (prompt === 'bad') throw new Failure('bad');
          return 'vid:' + prompt;
        }

        @monitorCreditsOperation('purchase')
        buy(amount: number): { balance: number } { return { balance: amount }; }
      }
      return { Service, Failure };
    `;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.None,
        experimentalDecorators: false,
      },
    });
    // The standard form: decorators are called with (method, context), not a descriptor.
    expect(outputText).toContain('__esDecorate');
    const { Service, Failure } = new Function('business', outputText)(business) as {
      Service: new () => {
        render(p: string): string;
        animate(p: string): Promise<string>;
        buy(n: number): unknown;
      };
      Failure: new (m: string) => Error;
    };
    const service = new Service();
    expect(service.render('a')).toBe('img:a');
    await expect(service.animate('b')).resolves.toBe('vid:b');
    await expect(service.animate('bad')).rejects.toBeInstanceOf(Failure);
    expect(service.buy(5)).toEqual({ balance: 5 });
    const f = await scrape();
    expect(sampleValue(f, 'ai_tasks_submitted_total', { service: 'std-svc' })).toBe(3);
    expect(sampleValue(f, 'ai_tasks_total', { service: 'std-svc', status: 'success' })).toBe(2);
    expect(sampleValue(f, 'ai_tasks_total', { service: 'std-svc', status: 'failed' })).toBe(1);
    expect(
      sampleValue(f, 'ai_service_failures_total', { service: 'std-svc', error_type: 'Failure' }),
    ).toBe(1);
    expect(
      sampleValue(f, 'ai_task_duration_seconds_count', { service: 'std-svc', mode: 'video' }),
    ).toBe(2);
    expect(sampleValue(f, 'credits_operations_total', { operation: 'purchase' })).toBe(1);
  });
});
