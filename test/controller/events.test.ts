// The Event recorder against the real API server: repeats of the same Event about the same
// frontend become one Event whose series counts them (as client-go's recorder aggregates), and
// `kubectl events` shows one line for them.
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { EventRecorder, SERIES_WINDOW_MS } from '../../src/controller/events.js';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.js';
import { installCrd } from '../support/resources.js';

let namespace: string;
let api: k8s.EventsV1Api;
let clock: Date;
let recorder: EventRecorder;
const errors: unknown[] = [];

const frontend = (name: string): Wso2Frontend => ({
  apiVersion: 'wso2-frontend.dev/v1alpha1',
  kind: 'Wso2Frontend',
  metadata: { name, namespace, uid: `uid-${name}` },
  spec: {} as Wso2Frontend['spec'],
});

async function eventsAbout(name: string): Promise<k8s.EventsV1Event[]> {
  const list = await api.listNamespacedEvent({ namespace, fieldSelector: `regarding.name=${name}` });
  // In a stable order: by reason, then note.
  return list.items.sort((a, b) => `${a.reason} ${a.note}`.localeCompare(`${b.reason} ${b.note}`));
}

const advance = (ms: number) => (clock = new Date(clock.getTime() + ms));

beforeAll(async () => {
  await installCrd(); // for `kubectl events --for wso2frontend/NAME`
  namespace = await createNamespace('events');
  api = kubeConfig().makeApiClient(k8s.EventsV1Api);
});

beforeEach(() => {
  errors.length = 0;
  clock = new Date();
  recorder = new EventRecorder(kubeConfig(), 'test-instance', { onError: (e) => errors.push(e), now: () => clock });
});

afterEach(() => expect(errors).toEqual([]));

test('a failure recorded three times is one Event with series count 3 and the last time', async () => {
  const shop = frontend('shop');
  for (let attempt = 1; attempt <= 3; attempt++) {
    await recorder.record(shop, 'Warning', 'ReconcileFailed', 'Reconcile', 'reconcile failed: quota exceeded');
    advance(5000);
  }
  const events = await eventsAbout('shop');
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({
    type: 'Warning',
    reason: 'ReconcileFailed',
    note: 'reconcile failed: quota exceeded',
  });
  expect(events[0]!.series?.count).toBe(3);
  expect(new Date(String(events[0]!.series?.lastObservedTime)).getTime()).toBe(clock.getTime() - 5000);

  const listed = await kubectl(['events', '-n', namespace, '--for', 'wso2frontend/shop', '--types', 'Warning']);
  expect(listed.trim().split('\n')).toHaveLength(2); // the header and one line
  expect(listed).toMatch(/\(x3 over /);
});

test('another note (the API server keeps a note immutable) is an Event of its own', async () => {
  const shop = frontend('shop2');
  await recorder.record(shop, 'Warning', 'ReconcileFailed', 'Reconcile', 'reconcile failed: quota exceeded');
  await recorder.record(shop, 'Warning', 'ReconcileFailed', 'Reconcile', 'reconcile failed: conflict');
  await recorder.record(shop, 'Warning', 'ReconcileFailed', 'Reconcile', 'reconcile failed: quota exceeded');
  expect((await eventsAbout('shop2')).map((e) => [e.note, e.series?.count])).toEqual([
    ['reconcile failed: conflict', undefined],
    ['reconcile failed: quota exceeded', 2],
  ]);
});

test('another reason, or another frontend, is an Event of its own', async () => {
  const cart = frontend('cart');
  await recorder.record(cart, 'Normal', 'CertificateIssued', 'Issue', 'issued the frontend CA');
  await recorder.record(cart, 'Normal', 'Ready', 'Reconcile', 'serving https://cart.example.com/');
  await recorder.record(frontend('till'), 'Normal', 'Ready', 'Reconcile', 'serving https://till.example.com/');
  expect((await eventsAbout('cart')).map((e) => [e.reason, e.series])).toEqual([
    ['CertificateIssued', undefined],
    ['Ready', undefined],
  ]);
  expect((await eventsAbout('till')).map((e) => e.reason)).toEqual(['Ready']);
});

test('a repeat after the aggregation window starts a new Event', async () => {
  const pay = frontend('pay');
  await recorder.record(pay, 'Warning', 'ApplyFailed', 'Apply', 'quota exceeded');
  advance(SERIES_WINDOW_MS);
  await recorder.record(pay, 'Warning', 'ApplyFailed', 'Apply', 'quota exceeded');
  expect((await eventsAbout('pay')).map((e) => e.series)).toEqual([undefined, undefined]);
});

test('a repeat whose Event was deleted meanwhile creates it again', async () => {
  const gone = frontend('gone');
  await recorder.record(gone, 'Warning', 'ReconcileFailed', 'Reconcile', 'failed');
  const [first] = await eventsAbout('gone');
  await api.deleteNamespacedEvent({ name: first!.metadata!.name!, namespace });
  await recorder.record(gone, 'Warning', 'ReconcileFailed', 'Reconcile', 'failed');
  const events = await eventsAbout('gone');
  expect(events.map((e) => [e.metadata!.name === first!.metadata!.name, e.series])).toEqual([[false, undefined]]);
});

test('a note over the 1 kB the API takes, counted in bytes of UTF-8, is cut at a character and recorded', async () => {
  // 800 characters of two bytes each: under 1024 characters, over 1024 bytes.
  for (const [name, note] of [
    ['accents', `Secret shop-tls: ${'ü'.repeat(800)}`],
    ['emoji', `${'🙂'.repeat(300)}`],
    ['ascii', `${'x'.repeat(2000)}`],
  ] as const) {
    await recorder.record(frontend(name), 'Warning', 'Long', 'Check', note);
    const [event] = await eventsAbout(name);
    expect(event?.note).toBeDefined();
    const recorded = event!.note!;
    expect(Buffer.byteLength(recorded, 'utf8')).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(recorded, 'utf8')).toBeGreaterThan(1020);
    expect(recorded.endsWith('…')).toBe(true);
    expect(note.startsWith(recorded.slice(0, -1))).toBe(true);
    expect(recorded).not.toMatch(/\p{Cs}/u); // no half of a character
  }
});
