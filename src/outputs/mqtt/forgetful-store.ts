import { Readable } from 'node:stream';
import type { IStore, MqttClient } from 'mqtt';

/**
 * MQTT.js keeps every unacknowledged QoS 1 message in its outgoing store and sends it again on the
 * next connect, whatever the session. inspectd's outbox (the log) already re-sends, in seq order,
 * everything the broker did not acknowledge; with both, a broker outage delivered the backlog twice.
 * This store keeps nothing, so the outbox is the only queue.
 */
export class ForgetfulStore implements IStore {
  put(_packet: Parameters<IStore['put']>[0], cb: Parameters<IStore['put']>[1]): IStore {
    cb?.();
    return this;
  }
  createStream(): ReturnType<IStore['createStream']> {
    return new Readable({
      objectMode: true,
      read() {
        this.push(null);
      },
    }) as unknown as ReturnType<IStore['createStream']>;
  }
  del(packet: Parameters<IStore['del']>[0], cb: Parameters<IStore['del']>[1]): IStore {
    cb?.(undefined, packet as Parameters<Parameters<IStore['del']>[1]>[1]);
    return this;
  }
  get(_packet: Parameters<IStore['get']>[0], cb: Parameters<IStore['get']>[1]): IStore {
    cb?.(new Error('not kept: the outbox re-sends'));
    return this;
  }
  close(cb: Parameters<IStore['close']>[0]): void {
    cb?.();
  }
}

/**
 * The other half of keeping nothing: QoS 1 messages in flight when a connection is lost stay in
 * MQTT.js's table of unacknowledged messages (client.outgoing), and as this store gives nothing back
 * on reconnect, nothing ever re-sends or acknowledges them under their ids. A graceful end() waits for
 * that table to empty, so a stop after a broker outage could wait for ever (seen as a stop hanging
 * after `daemon.stopping`). At each close they are failed here ("Message removed"): the outbox
 * re-sends what they carried, and retained messages are published again on connect.
 */
export function forgetInFlightOnClose(client: MqttClient): void {
  client.on('close', () => {
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
  });
}
