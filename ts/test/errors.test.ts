/** Every typed error has the Python class's name and first parent, under one TimestepError root. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Agent } from '@openai/agents';
import * as timestep from '../src/index.js';
import {
  ConfigurationError,
  CorruptStateError,
  RunNotFoundError,
  StaleStateError,
  StateError,
  TimestepError,
  TranslationError,
  UnknownCallError,
  ApprovalError,
} from '../src/index.js';

describe('errors', () => {
  it('every exported error class is a TimestepError named after its class', () => {
    const classes = Object.entries(timestep).filter(
      ([name, value]) => typeof value === 'function' && name.endsWith('Error'),
    ) as [string, new (...args: never[]) => Error][];
    assert.ok(classes.length >= 28);
    for (const [name, cls] of classes) {
      assert.ok(cls === TimestepError || cls.prototype instanceof TimestepError, name);
      assert.equal(cls.name, name);
    }
  });

  it('parents match Python (CorruptStateError is a StateError, not a TranslationError)', () => {
    const error = new CorruptStateError('bad');
    assert.ok(error instanceof StateError);
    assert.ok(!(error instanceof TranslationError));
    assert.equal(error.name, 'CorruptStateError');
    assert.ok(new TranslationError('x') instanceof StateError);
    assert.ok(new UnknownCallError('x') instanceof ApprovalError);
    assert.ok(!(new RunNotFoundError('x') instanceof StateError));
    const stale = new StaleStateError('r', 1, 2);
    assert.match(stale.message, /based on version 1, but version 2/);
    assert.ok(new ConfigurationError('x') instanceof TimestepError);
  });

  it('durable calls refuse a store that is no RunStateStore, as Python does', async () => {
    const agent = new Agent({ name: 'a' });
    const asString = 'sqlite:///x.db' as unknown as timestep.RunStateStore;
    await assert.rejects(
      timestep.runDurable(agent, 'go', { runId: 'r', store: asString }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.includes('new RunStateStore("sqlite:///x.db")'),
    );
    await assert.rejects(
      timestep.listRuns({ store: 3 as unknown as timestep.RunStateStore }),
      (error: unknown) => error instanceof ConfigurationError && /not number/.test(error.message),
    );
    await assert.rejects(
      timestep.recordedSteps('r', { store: {} as timestep.RunStateStore }),
      (error: unknown) => error instanceof ConfigurationError && /not Object/.test(error.message),
    );
  });
});
