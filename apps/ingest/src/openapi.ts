/**
 * The OpenAPI 3.0 description of the HTTP endpoints, served at `GET /api/openapi.json` (and validated by a test with
 * an OpenAPI validator).
 */

const error = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string', description: 'What went wrong' } },
} as const;

const failure = {
  type: 'object',
  nullable: true,
  required: ['code', 'message', 'at'],
  properties: {
    code: { type: 'string', example: 'ERR_RTMP_SOCKET' },
    message: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
  },
} as const;

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const refusals = {
  '401': errorResponse('No bearer token, or not the one given with --api-token (nothing is changed)'),
  '403': errorResponse(
    'The control API is off (no --api-token), or the client is not on loopback (--api-bind)',
  ),
} as const;

const streamPath = [
  { name: 'app', in: 'path', required: true, schema: { type: 'string' }, example: 'live' },
  { name: 'key', in: 'path', required: true, schema: { type: 'string' }, example: 'cam1' },
] as const;

export const OPENAPI = {
  openapi: '3.0.3',
  info: {
    title: 'rtmp-ingest HTTP API',
    version: '1.0.0',
    description:
      'Read-only endpoints (streams, health, metrics) are open. The control endpoints need `Authorization: Bearer <token>`, the token given with `--api-token`; without `--api-token` they are off (403).',
  },
  security: [],
  paths: {
    '/api/streams': {
      get: {
        summary: 'Live streams with their codecs, figures and push targets',
        responses: {
          '200': {
            description: 'One entry per live stream',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['streams'],
                  properties: {
                    streams: { type: 'array', items: { $ref: '#/components/schemas/Stream' } },
                    cluster: {
                      type: 'object',
                      description:
                        'With --cluster: every stream of the cluster, the node that publishes it and its viewers per node (null streams and an error when Redis cannot be reached)',
                      properties: {
                        node: { type: 'string' },
                        streams: { type: 'array', nullable: true, items: { type: 'object' } },
                        error: { type: 'string' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    '/api/nodes': {
      get: {
        summary: 'With --cluster: the nodes of the cluster, their state (live, draining) and load',
        responses: {
          '200': {
            description: 'The nodes whose heartbeat is fresh',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['node', 'nodes'],
                  properties: {
                    node: { type: 'string' },
                    nodes: { type: 'array', items: { type: 'object' } },
                  },
                },
              },
            },
          },
          '404': { description: 'Not a cluster node' },
          '503': { description: 'Redis cannot be reached' },
        },
      },
    },
    '/healthz': {
      get: {
        summary: 'Health: 503 while shutting down',
        responses: {
          '200': { description: 'Serving' },
          '503': { description: 'Shutting down' },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
      },
    },
    '/api/openapi.json': {
      get: {
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.0 document', content: { 'application/json': {} } } },
      },
    },
    '/api/sessions': {
      get: {
        summary: 'RTMP connections: address, protocol, app, role, streams, bytes, since',
        security: [{ bearer: [] }],
        responses: {
          '200': {
            description: 'Every open RTMP/RTMPS connection',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['sessions'],
                  properties: {
                    sessions: { type: 'array', items: { $ref: '#/components/schemas/Session' } },
                  },
                },
              },
            },
          },
          ...refusals,
        },
      },
    },
    '/api/sessions/{id}': {
      delete: {
        summary:
          'Kick a session: its connection is closed (a publisher stops publishing, a player stops playing)',
        security: [{ bearer: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { '204': { description: 'Closed' }, '404': errorResponse('No such session'), ...refusals },
      },
    },
    '/api/streams/{app}/{key}/recording': {
      post: {
        summary:
          'Start recording a live stream, published or pulled here (from its current keyframe, with its headers)',
        security: [{ bearer: [] }],
        parameters: streamPath,
        responses: {
          '201': {
            description: 'Recording',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Recording' } } },
          },
          '404': errorResponse('The stream is not live'),
          '409': errorResponse('The stream is already being recorded'),
          '500': errorResponse('The file could not be created'),
          ...refusals,
        },
      },
      delete: {
        summary: 'Stop recording a stream (started here or by --record); answers once the file is complete',
        security: [{ bearer: [] }],
        parameters: streamPath,
        responses: {
          '200': {
            description: 'Stopped',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Recording' } } },
          },
          '404': errorResponse('The stream is not being recorded'),
          ...refusals,
        },
      },
    },
    '/api/pushes': {
      get: {
        summary: 'Push targets and their state',
        security: [{ bearer: [] }],
        responses: {
          '200': {
            description: 'Every push (from --push, --push-map and this API)',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['pushes'],
                  properties: { pushes: { type: 'array', items: { $ref: '#/components/schemas/Push' } } },
                },
              },
            },
          },
          ...refusals,
        },
      },
      post: {
        summary: 'Push a stream to a URL whenever it is live (until deleted)',
        security: [{ bearer: [] }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['app', 'key', 'url'],
                properties: {
                  app: { type: 'string', example: 'live' },
                  key: { type: 'string', example: 'cam1' },
                  url: { type: 'string', example: 'rtmps://live-api-s.facebook.com:443/rtmp/FB-KEY' },
                },
              },
            },
          },
        },
        responses: {
          '201': {
            description: 'Added',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Push' } } },
          },
          '400': errorResponse('Not a JSON body with app, key and a complete rtmp(s) URL'),
          ...refusals,
        },
      },
    },
    '/api/pushes/{id}': {
      delete: {
        summary: 'Stop and remove a push',
        security: [{ bearer: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'Removed' }, '404': errorResponse('No such push'), ...refusals },
      },
    },
    '/api/pulls': {
      get: {
        summary: 'Streams pulled from an origin (--pull)',
        security: [{ bearer: [] }],
        responses: {
          '200': {
            description: 'Every running pull',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['pulls'],
                  properties: { pulls: { type: 'array', items: { $ref: '#/components/schemas/Pull' } } },
                },
              },
            },
          },
          ...refusals,
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The --api-token' } },
    schemas: {
      Error: error,
      Stream: {
        type: 'object',
        required: ['app', 'key', 'players', 'bytesIn', 'bytesOut'],
        properties: {
          app: { type: 'string' },
          key: { type: 'string' },
          codecs: { type: 'array', items: { type: 'string' } },
          resolution: { type: 'string', nullable: true },
          fps: { type: 'number', nullable: true },
          bitrate: { type: 'number' },
          uptimeSec: { type: 'number' },
          players: { type: 'integer' },
          bytesIn: { type: 'integer' },
          bytesOut: { type: 'integer' },
          droppedFrames: { type: 'integer' },
          recording: { type: 'string', nullable: true },
          pushes: { type: 'array', items: { $ref: '#/components/schemas/Push' } },
          pull: {
            $ref: '#/components/schemas/Pull',
            description:
              'Streams pulled here (--pull, cluster edge pulls): the pull; codecs and the rest are probed',
          },
        },
      },
      Session: {
        type: 'object',
        required: [
          'id',
          'address',
          'protocol',
          'app',
          'role',
          'key',
          'streams',
          'bytesIn',
          'bytesOut',
          'since',
        ],
        properties: {
          id: { type: 'integer' },
          address: { type: 'string', example: '203.0.113.9:51234' },
          protocol: { type: 'string', enum: ['rtmp', 'rtmps'] },
          app: { type: 'string', nullable: true },
          role: { type: 'string', enum: ['publisher', 'player', 'idle'] },
          key: { type: 'string', nullable: true },
          streams: {
            type: 'array',
            items: {
              type: 'object',
              required: ['streamId', 'role', 'key'],
              properties: {
                streamId: { type: 'integer' },
                role: { type: 'string', enum: ['publisher', 'player'] },
                key: { type: 'string' },
              },
            },
          },
          bytesIn: { type: 'integer' },
          bytesOut: { type: 'integer' },
          since: { type: 'string', format: 'date-time' },
        },
      },
      Recording: {
        type: 'object',
        required: ['app', 'key', 'path', 'bytes'],
        properties: {
          app: { type: 'string' },
          key: { type: 'string' },
          path: { type: 'string' },
          bytes: { type: 'integer' },
        },
      },
      Push: {
        type: 'object',
        required: ['id', 'key', 'target', 'state', 'since', 'attempts', 'connects', 'failures'],
        properties: {
          id: { type: 'string' },
          key: { type: 'string', description: '<app>/<key>' },
          target: { type: 'string', description: 'The target URL with its stream name hidden' },
          state: { type: 'string', enum: ['idle', 'connecting', 'live', 'retrying', 'stopped'] },
          since: { type: 'string', format: 'date-time' },
          attempts: { type: 'integer' },
          connects: { type: 'integer' },
          failures: { type: 'integer' },
          messagesSent: { type: 'integer' },
          bytesSent: { type: 'integer' },
          droppedMessages: { type: 'integer' },
          droppedBytes: { type: 'integer' },
          lastError: failure,
          nextAttemptAt: { type: 'string', format: 'date-time', nullable: true },
        },
      },
      Pull: {
        type: 'object',
        required: ['key', 'origin', 'state', 'since', 'attempts', 'failures'],
        properties: {
          key: { type: 'string' },
          origin: { type: 'string', nullable: true },
          state: {
            type: 'string',
            enum: ['resolving', 'connecting', 'waiting', 'live', 'retrying', 'stopped'],
          },
          since: { type: 'string', format: 'date-time' },
          attempts: { type: 'integer' },
          failures: { type: 'integer' },
          messagesReceived: { type: 'integer' },
          bytesReceived: { type: 'integer' },
          lastError: failure,
        },
      },
    },
  },
} as const;
