// The app's entry (package.json "main"): importing a file registers its functions.
import './functions/refreshOrchestrator';
import './functions/activities';
import './functions/startRefresh';
import './functions/getRefresh';
import './functions/cancelRefresh';
import './functions/listRefreshes';
import './functions/modelHistory';
import './functions/schedules';
import './functions/openApi';
import './functions/health';
import './functions/statusPage';
import './functions/modelClaim';
import './functions/modelClaimFree';
import './functions/retention';
