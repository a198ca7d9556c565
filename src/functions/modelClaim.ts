import * as df from 'durable-functions';
import { modelClaimEntity } from '../claims/entity';
import { MODEL_CLAIM_ENTITY } from '../claims/modelClaim';

df.app.entity(MODEL_CLAIM_ENTITY, modelClaimEntity);
