/** Entry of the admin page bundle. zod-csp must stay the first import (see there). */
import '../zod-csp';
import { AdminApp } from './admin-app';

void new AdminApp().start();
