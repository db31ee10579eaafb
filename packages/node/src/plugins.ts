import type { BizmonPlugin } from '@bizmon/core';
import { plugin as http } from '@bizmon/http';
import { plugin as pg } from '@bizmon/db';
import { plugin as ioredis } from '@bizmon/cache';
import { plugin as business } from '@bizmon/business';

/** Every package's contribution, in registration order. */
export const plugins: readonly BizmonPlugin[] = [http, pg, ioredis, business];
